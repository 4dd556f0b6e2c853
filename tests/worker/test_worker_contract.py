"""Issue 17: each function loaded and invoked by Microsoft's own Python worker library.

``azure-functions-runtime-v1`` is what loads v1-model functions on Azure for Python 3.13. The
host talks to it in FunctionRpc messages; here they are built as the host builds them from each
``function.json`` (function load requests, then invocations: a timer, an Event Hub batch with
``cardinality: many`` and ``dataType: binary``, an HTTP request), so a binding or signature
mismatch that calling ``main()`` directly cannot reveal fails here. Real Redis underneath.
Collected on Python 3.13+ only (tests/conftest.py), the versions the library serves: in
``make test-313``, where a missing library fails the run.
"""

import asyncio
import datetime as dt
import importlib
import json
import sys
import types
import uuid
from pathlib import Path

import pytest

from tests.helpers import APP_FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def worker():
    import azure_functions_runtime_v1 as lib

    # The library ships the generated FunctionRpc messages under a top-level "tests" package,
    # which this repository's own tests package hides: load them under a name of their own.
    protos = types.ModuleType("worker_protos")
    protos.__path__ = [str(Path(lib.__file__).resolve().parent.parent / "tests" / "protos")]
    sys.modules["worker_protos"] = protos
    pb = importlib.import_module("worker_protos.FunctionRpc_pb2")
    init = pb.StreamingMessage(
        worker_init_request=pb.WorkerInitRequest(
            host_version="4.1040.0", capabilities={}, function_app_directory=str(ROOT)
        )
    )
    answer = asyncio.run(lib.worker_init_request(_Msg(init, {"host": "127.0.0.1", "protos": pb})))
    assert answer.result.status == pb.StatusResult.Success
    lib.start_threadpool_executor()
    yield lib, pb
    lib.stop_threadpool_executor()


class _Msg:
    def __init__(self, request, properties=None):
        self.request, self.properties = request, properties or {}


def load(worker, name):
    lib, pb = worker
    spec = json.loads((ROOT / name / "function.json").read_text())
    bindings = {}
    for b in spec["bindings"]:
        bindings[b["name"]] = pb.BindingInfo(
            type=b["type"],
            direction=pb.BindingInfo.Direction.Value(b["direction"]),
            data_type=pb.BindingInfo.DataType.Value(b.get("dataType", "undefined")),
        )
    meta = pb.RpcFunctionMetadata(
        name=name,
        directory=str(ROOT / name),
        script_file=str(ROOT / name / "__init__.py"),
        entry_point=spec.get("entryPoint", "main"),
        bindings=bindings,
    )
    function_id = str(uuid.uuid4())
    answer = asyncio.run(
        lib.function_load_request(
            _Msg(
                pb.StreamingMessage(
                    function_load_request=pb.FunctionLoadRequest(function_id=function_id, metadata=meta)
                )
            )
        )
    )
    assert answer.result.status == pb.StatusResult.Success, answer.result.exception.message
    return function_id


def invoke(worker, function_id, inputs, trigger_metadata=None):
    lib, pb = worker
    request = pb.InvocationRequest(
        invocation_id=str(uuid.uuid4()),
        function_id=function_id,
        input_data=inputs,
        trigger_metadata=trigger_metadata or {},
    )
    return asyncio.run(lib.invocation_request(_Msg(pb.StreamingMessage(invocation_request=request))))


@pytest.mark.parametrize("name", sorted(APP_FUNCTIONS))
def test_every_function_loads_in_the_worker(worker, name):
    assert load(worker, name)


def test_a_timer_invocation_runs_the_collector(worker, base_env, monkeypatch, store_for):
    lib, pb = worker
    for key, value in {
        **base_env,
        "ICECAST_SERVERS": json.dumps([{"name": "down", "url": "http://127.0.0.1:9", "password": "pw-123456"}]),
    }.items():
        monkeypatch.setenv(key, value)
    function_id = load(worker, "icecast_poller")
    timer = pb.TypedData(
        json=json.dumps({"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False})
    )
    answer = invoke(worker, function_id, [pb.ParameterBinding(name="timer", data=timer)])
    assert answer.result.status == pb.StatusResult.Success, answer.result.exception.message
    status = store_for(base_env).read_status(["icecast_poller"])["icecast_poller"]
    assert status["server:down|ok"] == "0"  # the run happened, recorded the unreachable server, and returned


def test_an_event_hub_batch_of_binary_events_is_stored(worker, base_env, monkeypatch, store_for):
    lib, pb = worker
    for key, value in {**base_env, "AzureWebJobsStorage": "UseDevelopmentStorage=true"}.items():
        monkeypatch.setenv(key, value)
    function_id = load(worker, "eventhub_to_redis")
    now = dt.datetime.now(dt.timezone.utc)
    bodies = [
        json.dumps(
            {"tenant": "acme-fm", "type": "app.play", "time": (now - dt.timedelta(seconds=i)).isoformat()}
        ).encode()
        for i in range(3)
    ]
    data = pb.TypedData(collection_bytes=pb.CollectionBytes(bytes=bodies))
    metadata = {
        "PartitionContext": pb.TypedData(
            json=json.dumps({"PartitionId": "7", "EventHubName": "events", "ConsumerGroup": "live-collectors"})
        ),
        "SequenceNumberArray": pb.TypedData(json=json.dumps([500, 501, 502])),
        "OffsetArray": pb.TypedData(json=json.dumps(["1000", "1100", "1200"])),
        "EnqueuedTimeUtcArray": pb.TypedData(json=json.dumps([now.isoformat()] * 3)),
        "PartitionKeyArray": pb.TypedData(json=json.dumps([None, None, None])),
        "PropertiesArray": pb.TypedData(json=json.dumps([{}, {}, {}])),
        # what the Event Hubs extension puts per event (the worker reads these for each EventHubEvent)
        "SystemPropertiesArray": pb.TypedData(
            json=json.dumps(
                [
                    {
                        "x-opt-sequence-number": 500 + i,
                        "x-opt-offset": str(1000 + 100 * i),
                        "SequenceNumber": 500 + i,
                        "Offset": 1000 + 100 * i,
                        "PartitionKey": None,
                        "EnqueuedTimeUtc": now.isoformat(),
                    }
                    for i in range(3)
                ]
            )
        ),
    }
    answer = invoke(worker, function_id, [pb.ParameterBinding(name="events", data=data)], metadata)
    assert answer.result.status == pb.StatusResult.Success, answer.result.exception.message
    events = store_for(base_env).read_events("acme-fm")
    assert sorted((e.partition, e.sequence) for e in events) == [("7", 500), ("7", 501), ("7", 502)]


def test_an_http_request_reaches_the_health_function_and_its_answer_comes_back(worker, base_env, monkeypatch):
    lib, pb = worker
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    function_id = load(worker, "health_check")
    http = pb.RpcHttp(method="GET", url="http://localhost/api/health", headers={}, query={})
    answer = invoke(worker, function_id, [pb.ParameterBinding(name="req", data=pb.TypedData(http=http))])
    assert answer.result.status == pb.StatusResult.Success, answer.result.exception.message
    assert answer.return_value.http.status_code == "200"
    assert json.loads(answer.return_value.http.body.bytes)["status"] == "ok"
