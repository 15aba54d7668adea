"""A TEST STAND-IN for Flyte's admin API. It is not Flyte, and nothing tested against it is
cluster-tested.

It answers the gRPC calls flytekit's FlyteRemote makes (AdminService, DataProxyService), on the
servicers flyteidl ships, on 127.0.0.1, and it is exactly as strict as Flyte 1.16 on what the
launcher touches, never kinder. Each module mirrors one part of Flyte and names the source files
it copies:

- server.py: flyteadmin's AdminService and DataProxyService (entities, launch plan state,
  executions, node listings, upload locations, execution data);
- validation.py: flyteadmin's request validation (pkg/manager/impl/validation/*.go);
- storage.py: the blob store, an S3 API (moto's server mode) as the sandbox's minio, with
  flytestdlib's download limit;
- catalog.py: datacatalog, keyed as flytepropeller's catalog transformer keys it;
- runner.py: flytepropeller's part: node order and concurrency, cache lookups, pulling images,
  running each task's registered container on the local Docker engine, output limits.

No Kubernetes, no auth, no schedules; only task and sub-workflow nodes.
"""

from tests.flyte_standin.standin import StandIn

__all__ = ["StandIn"]
