// Vite builds the console into one HTML page and a few hashed assets (no CDN, nothing fetched at
// run time). CMake runs `vite build --outDir <build>/console` and embeds the result in the binary
// (cmake/embed_console.cmake); `base: './'` keeps every URL relative to /console/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  logLevel: 'warn',
  build: {
    assetsDir: 'assets',
    emptyOutDir: true,
    modulePreload: false,
    reportCompressedSize: false,
    sourcemap: false,
    target: 'es2020',
  },
});
