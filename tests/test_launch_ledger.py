"""The ledger's one sentence of what a launch left behind, at each step it can be stopped in."""

from __future__ import annotations

from scaffold_flyte.launch_ledger import CreatedExecution, LaunchLedger


def test_nothing_made_says_so() -> None:
    assert LaunchLedger().what_exists() == "nothing was built, uploaded, registered or executed"


def test_images_pushed_then_registration_under_way() -> None:
    ledger = LaunchLedger()
    ledger.image_pushed("localhost:5000/app:abc")
    ledger.registration_started("main.wf version v1")
    assert ledger.what_exists() == (
        "image(s) pushed: localhost:5000/app:abc; registration of main.wf version v1 was under way, so part of it "
        "may be registered (launching again registers the rest under the same version); no execution was created"
    )


def test_executions_listed_in_job_order_with_their_urls() -> None:
    ledger = LaunchLedger()
    ledger.registration_started("main.wf version v1")
    ledger.registration_done("main.wf version v1")
    ledger.execution_created(CreatedExecution(1, "job #1 (x=2)", "s1-1", "http://c/s1-1"))
    ledger.execution_created(CreatedExecution(0, "job #0 (x=1)", "s1-0", "http://c/s1-0"))
    assert ledger.what_exists("created and terminated") == (
        "registered main.wf version v1; 2 execution(s) created and terminated: "
        "job #0 (x=1): s1-0 http://c/s1-0; job #1 (x=2): s1-1 http://c/s1-1"
    )
