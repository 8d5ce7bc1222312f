/* sluice: entry point (placeholder until the server lands). */
#include <stdio.h>
int main(void) { puts("sluice"); return 0; }
