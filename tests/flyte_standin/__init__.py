"""A TEST STAND-IN for Flyte's admin API. It is not Flyte, and nothing tested against it is
cluster-tested.

It answers the gRPC calls flytekit's FlyteRemote makes (AdminService, DataProxyService), on the
servicers flyteidl ships, on 127.0.0.1: it stores registered tasks, workflows and launch plans
(answering a re-registration as flyteadmin does), receives fast-registration uploads into a local
blob store, accepts executions and runs them for real: each task node's registered container
command, unchanged, inside the registered image, on the local Docker engine
(see runner.py). No Kubernetes, no propeller, no data catalog (no cache), no auth.
"""

from tests.flyte_standin.standin import StandIn

__all__ = ["StandIn"]
