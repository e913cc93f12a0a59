"""The flow-control fix of ``streams/faust_fixes/offsets.py``: resuming flow that already runs keeps what the queues
hold.

The consumer-side fix (rewinding uncommitted partitions) needs a broker and is proven by
``tests/integration/test_worker.py::test_one_of_two_workers_killed_before_any_commit_then_a_third_joins_equals_replay``.
"""

from __future__ import annotations

from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams.faust_fixes.offsets import ResumeKeepsQueues, ScorecardApp


def queue_with_one_message(flow: FlowControlEvent) -> FlowControlQueue[str]:
    queue: FlowControlQueue[str] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    queue.put_nowait("delivered")
    return queue


def test_resume_while_flowing_keeps_the_delivered_messages() -> None:
    flow = ResumeKeepsQueues()
    flow.resume()
    queue = queue_with_one_message(flow)
    flow.resume()  # Faust's recovery does this again right after seeking
    assert queue.qsize() == 1


def test_resume_after_a_suspension_still_drops_the_previous_assignment_messages() -> None:
    flow = ResumeKeepsQueues()
    flow.resume()
    queue = queue_with_one_message(flow)
    flow.suspend()  # a rebalance starts
    flow.resume()
    assert queue.qsize() == 0
    assert flow.is_active()


def test_plain_mode_flow_control_drops_them_which_is_what_lost_events() -> None:
    """The behaviour worked around; if mode ever stops clearing running queues, the workaround can go."""
    flow = FlowControlEvent()
    flow.resume()
    queue = queue_with_one_message(flow)
    flow.resume()
    assert queue.qsize() == 0


def test_the_app_uses_the_fixed_flow_control() -> None:
    app = ScorecardApp("unit-offsets", broker="kafka://127.0.0.1:1")
    assert isinstance(app.flow_control, ResumeKeepsQueues)
