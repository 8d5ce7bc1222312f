# Sluice's runtime-interface client for Python (docs/functions.md, "Runtimes"): imports the
# handler named by _HANDLER ("file.handler", "pkg/file.handler") from LAMBDA_TASK_ROOT and speaks
# the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, so that handlers written for AWS run
# unchanged, with the documented context object and AWS's error documents. Standard library only;
# the server compiles this file in and writes it to its data directory.
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
HOST_PORT, _, PREFIX = API.partition("/")
PREFIX = "/" + PREFIX if PREFIX else ""
HOST, _, PORT = HOST_PORT.rpartition(":")
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())

_conn = None
_request_id = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id
        return True


def _setup_logging():
    """The root logger prints as AWS's runtime does: [LEVEL]\t<time>\t<request id>\t<message>."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    handler.terminator = ""
    logging.getLogger().addHandler(handler)


def call(method, path, body=None, headers=None):
    global _conn
    for attempt in (0, 1):
        if _conn is None:
            _conn = http.client.HTTPConnection(HOST, int(PORT))
        try:
            _conn.request(method, PREFIX + "/2018-06-01/runtime" + path, body=body,
                          headers=headers or {})
            res = _conn.getresponse()
            return res.status, res.getheaders(), res.read()
        except (ConnectionError, http.client.HTTPException, OSError):
            _conn.close()
            _conn = None
            if attempt:
                raise


class LambdaContext:
    def __init__(self, request_id, deadline_ms, arn, identity, client_context):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = identity
        self.client_context = client_context
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def error_doc(exc, request_id=""):
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:]),
    }


def init_error(doc):
    print("[ERROR] %s: %s" % (doc["errorType"], doc["errorMessage"]), flush=True)
    try:
        call("POST", "/init/error", json.dumps(doc).encode(),
             {"Lambda-Runtime-Function-Error-Type": doc["errorType"]})
    except OSError:
        pass
    sys.exit(1)


def load_handler():
    spec = os.environ.get("_HANDLER", "")
    module_path, _, fn_name = spec.rpartition(".")
    if not module_path or not fn_name:
        init_error({"errorMessage": "Bad handler '%s': not enough values to unpack" % spec,
                    "errorType": "Runtime.MalformedHandlerName", "requestId": "",
                    "stackTrace": []})
    sys.path.insert(0, TASK_ROOT)
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        init_error({"errorMessage": "Syntax error in module '%s': %s" % (module_name, e),
                    "errorType": "Runtime.UserCodeSyntaxError", "requestId": "",
                    "stackTrace": []})
    except Exception as e:  # noqa: BLE001 - any import failure is the user's
        init_error({"errorMessage": "Unable to import module '%s': %s" % (module_name, e),
                    "errorType": "Runtime.ImportModuleError", "requestId": "",
                    "stackTrace": []})
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        init_error({"errorMessage": "Handler '%s' missing on module '%s'" % (fn_name, module_name),
                    "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []})
    return fn


def main():
    global _request_id
    _setup_logging()
    handler = load_handler()
    while True:
        try:
            status, headers, body = call("GET", "/invocation/next")
        except OSError:
            return
        if status != 200:
            return
        h = {k.lower(): v for k, v in headers}
        request_id = h.get("lambda-runtime-aws-request-id", "")
        _request_id = request_id
        trace = h.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        identity = h.get("lambda-runtime-cognito-identity")
        client_context = h.get("lambda-runtime-client-context")
        context = LambdaContext(request_id, int(h.get("lambda-runtime-deadline-ms", "0")),
                                h.get("lambda-runtime-invoked-function-arn"),
                                json.loads(identity) if identity else None,
                                json.loads(client_context) if client_context else None)
        try:
            event = json.loads(body) if body else None
        except ValueError:
            event = body.decode("utf-8", "replace")
        try:
            result = handler(event, context)
            out = json.dumps(result).encode()
        except Exception as e:  # noqa: BLE001 - reported to the caller as AWS does
            doc = error_doc(e, request_id)
            print("[ERROR] %s: %s\nTraceback (most recent call last):\n%s"
                  % (doc["errorType"], doc["errorMessage"], "".join(doc["stackTrace"])),
                  flush=True)
            try:
                call("POST", "/invocation/%s/error" % request_id, json.dumps(doc).encode(),
                     {"Content-Type": "application/json",
                      "Lambda-Runtime-Function-Error-Type": doc["errorType"]})
            except OSError:
                return
            continue
        try:
            call("POST", "/invocation/%s/response" % request_id, out,
                 {"Content-Type": "application/json"})
        except OSError:
            return


if __name__ == "__main__":
    main()
