"""RuntimeSessions: SCXML sessions in Runtime actors, and the Runtime hooks it uses.

Every document here ends in a top-level final state ``pass`` or ``fail``.
A test starts it, waits for the top session to end (with a timeout) and
checks the final configuration. The supervisor is a context manager, so
each test also fails when a thread, an actor or a queued message is left.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from statechartx import Event, Final, Machine, State, Transition
from statechartx.actors import Supervisor
from statechartx.runtime import Runtime
from statechartx.scxml import load
from statechartx.scxml.runtime_sessions import RuntimeSessions

NS = 'xmlns="http://www.w3.org/2005/07/scxml" version="1.0"'
WAIT = 10.0


def doc(body: str, datamodel: str = "") -> str:
    return f'<scxml {NS} datamodel="python">{datamodel}{body}</scxml>'


def child(body: str, datamodel: str = "") -> str:
    return f"<content>{doc(body, datamodel)}</content>"


@pytest.fixture(params=[False, True], ids=["sequential", "concurrent"])
def sessions(request: pytest.FixtureRequest) -> Iterator[RuntimeSessions]:
    with Supervisor(f"test-{request.node.name}") as supervisor:
        registry = RuntimeSessions(supervisor, concurrent_regions=request.param)
        try:
            yield registry
        finally:
            registry.stop()


def run(sessions: RuntimeSessions, text: str, data: dict | None = None) -> frozenset[str]:
    runtime = sessions.start(load(text, allow_python=True), data=data)
    assert sessions.wait(runtime, WAIT), f"session did not end; in {sorted(runtime.configuration)}"
    return runtime.configuration


PASS_FAIL = '<final id="pass"/><final id="fail"/>'


@pytest.mark.timeout(30)
def test_child_event_then_done_invoke(sessions: RuntimeSessions) -> None:
    configuration = run(
        sessions,
        doc(
            f"""<state id="s">
                 <invoke id="kid"><param name="n" expr="5"/>{child(
                     '<final id="f"><onentry><send target="#_parent" event="hello">'
                     '<param name="twice" expr="n * 2"/></send></onentry>'
                     '<donedata><param name="r" expr="7"/></donedata></final>',
                     '<datamodel><data id="n" expr="0"/></datamodel>')}</invoke>
                 <transition event="hello" cond="_event.invokeid == 'kid' and _event.data.twice == 10" target="t"/>
                 <transition event="*" target="fail"/>
               </state>
               <state id="t">
                 <transition event="done.invoke.kid" cond="_event.data.r == 7" target="pass"/>
                 <transition event="*" target="fail"/>
               </state>{PASS_FAIL}"""
        ),
    )
    assert configuration == {"pass"}
    assert sessions.session_ids == ()


@pytest.mark.timeout(30)
def test_send_by_invokeid_and_origin(sessions: RuntimeSessions) -> None:
    kid = child(
        '<state id="c"><onentry><send target="#_parent" event="ready"/></onentry>'
        '<transition event="ping" target="cf"><send targetexpr="_event.origin" event="pong"/></transition>'
        '</state><final id="cf"/>'
    )
    configuration = run(
        sessions,
        doc(
            f"""<state id="s">
                 <invoke id="kid">{kid}</invoke>
                 <transition event="ready"><send target="#_kid" event="ping"/></transition>
                 <transition event="pong" target="t"/>
                 <transition event="*" target="fail"/>
               </state>
               <state id="t"><transition event="done.invoke.kid" target="pass"/>
                 <transition event="*" target="fail"/></state>{PASS_FAIL}"""
        ),
    )
    assert configuration == {"pass"}


@pytest.mark.timeout(30)
def test_cancel_drops_exit_sends_and_timers(sessions: RuntimeSessions) -> None:
    # The child stops while the parent exits "s", before "t" is entered, so
    # a "bye" or "late" that got through would arrive before "check".
    kid = child(
        '<state id="c"><onentry><send target="#_parent" event="ready"/>'
        '<send target="#_parent" event="late" delay="0.2s"/></onentry>'
        '<onexit><send target="#_parent" event="bye"/></onexit></state>'
    )
    configuration = run(
        sessions,
        doc(
            f"""<state id="s">
                 <invoke id="kid">{kid}</invoke>
                 <transition event="ready" target="t"/>
                 <transition event="*" target="fail"/>
               </state>
               <state id="t">
                 <onentry><send event="check" delay="0.5s"/></onentry>
                 <transition event="check" target="pass"/>
                 <transition event="*" target="fail"/>
               </state>{PASS_FAIL}"""
        ),
    )
    assert configuration == {"pass"}
    assert sessions.session_ids == ()


@pytest.mark.timeout(30)
def test_unreachable_targets_communication_error(sessions: RuntimeSessions) -> None:
    configuration = run(
        sessions,
        doc(
            f"""<state id="a">
                 <onentry><send target="#_scxml_nosuch" event="x"/></onentry>
                 <transition event="error.communication" target="b"/>
                 <transition event="*" target="fail"/>
               </state>
               <state id="b">
                 <onentry><send target="#_nokid" event="x"/></onentry>
                 <transition event="error.communication" target="c"/>
                 <transition event="*" target="fail"/>
               </state>
               <state id="c">
                 <onentry><send target="#_parent" event="x"/></onentry>
                 <transition event="error.communication" target="pass"/>
                 <transition event="*" target="fail"/>
               </state>{PASS_FAIL}"""
        ),
    )
    assert configuration == {"pass"}


@pytest.mark.timeout(30)
def test_cancel_delayed_send_to_child(sessions: RuntimeSessions) -> None:
    kid = child(
        '<state id="c"><onentry><send target="#_parent" event="ready"/></onentry>'
        '<transition event="boom" target="cf"><send target="#_parent" event="gotboom"/></transition>'
        '<transition event="ok" target="cf"/></state><final id="cf"/>'
    )
    configuration = run(
        sessions,
        doc(
            f"""<state id="s">
                 <invoke id="kid">{kid}</invoke>
                 <transition event="ready">
                   <send id="d1" target="#_kid" event="boom" delay="0.2s"/>
                   <cancel sendid="d1"/>
                   <send target="#_kid" event="ok" delay="0.4s"/>
                 </transition>
                 <transition event="done.invoke.kid" target="pass"/>
                 <transition event="*" target="fail"/>
               </state>{PASS_FAIL}"""
        ),
    )
    assert configuration == {"pass"}


@pytest.mark.timeout(30)
def test_autoforward_and_finalize(sessions: RuntimeSessions) -> None:
    kid = child(
        '<state id="c"><onentry><send target="#_parent" event="ready"/></onentry>'
        '<transition event="fwd" target="cf"><send target="#_parent" event="echo">'
        '<param name="v" expr="_event.data.v + 1"/></send></transition></state><final id="cf"/>'
    )
    configuration = run(
        sessions,
        doc(
            f"""<state id="s">
                 <invoke id="kid" autoforward="true">{kid}
                   <finalize><assign location="got" expr="_event.data.v if _event.data else got"/></finalize>
                 </invoke>
                 <transition event="ready"><send event="fwd"><param name="v" expr="1"/></send></transition>
                 <transition event="fwd"/>
                 <transition event="echo" cond="got == 2" target="pass"/>
                 <transition event="*" target="fail"/>
               </state>{PASS_FAIL}""",
            '<datamodel><data id="got" expr="0"/></datamodel>',
        ),
    )
    assert configuration == {"pass"}


@pytest.mark.timeout(30)
def test_nested_invoke_done_chain(sessions: RuntimeSessions) -> None:
    # The grandchild finishes while it boots; each level is spawned from
    # the thread of the level above.
    grandchild = '<content><scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="python"><final id="g"/></scxml></content>'
    kid = child(
        f'<state id="c"><invoke id="grand">{grandchild}</invoke>'
        '<transition event="done.invoke.grand" target="cf"/></state><final id="cf"/>'
    )
    configuration = run(
        sessions,
        doc(
            f"""<state id="s">
                 <invoke id="kid">{kid}</invoke>
                 <transition event="done.invoke.kid" target="pass"/>
                 <transition event="*" target="fail"/>
               </state>{PASS_FAIL}"""
        ),
    )
    assert configuration == {"pass"}


@pytest.mark.timeout(30)
def test_children_in_regions_send_concurrently(sessions: RuntimeSessions) -> None:
    # Four children in four regions each send 50 events to the parent: the
    # sends race on the registry from four threads, and none may be lost.
    kid = child(
        '<state id="c"><onentry><foreach array="range(50)" item="i">'
        '<send target="#_parent" event="tick"/></foreach></onentry></state>'
    )
    regions = "".join(
        f'<state id="r{k}"><invoke id="kid{k}">{kid}</invoke></state>' for k in range(4)
    )
    configuration = run(
        sessions,
        doc(
            f"""<parallel id="p">{regions}
                 <transition event="tick" cond="count == 199" target="pass"/>
                 <transition event="tick"><assign location="count" expr="count + 1"/></transition>
                 <transition event="*" target="fail"/>
               </parallel>{PASS_FAIL}""",
            '<datamodel><data id="count" expr="0"/></datamodel>',
        ),
    )
    assert configuration == {"pass"}


@pytest.mark.timeout(30)
def test_stop_ends_running_children(sessions: RuntimeSessions) -> None:
    reached = threading.Event()
    kid = child('<state id="c"><onentry><send target="#_parent" event="ready"/></onentry></state>')
    text = doc(
        f"""<state id="s"><invoke id="kid">{kid}</invoke>
             <transition event="ready"><script>reached.set()</script></transition></state>"""
    )
    runtime = sessions.start(load(text, allow_python=True), data={"reached": reached})
    assert reached.wait(WAIT)
    assert len(sessions.session_ids) == 2
    sessions.stop()
    assert sessions.session_ids == ()
    assert not runtime.finished
    with pytest.raises(RuntimeError, match="was stopped"):
        sessions.start(load(doc('<final id="f"/>'), allow_python=True))


@pytest.mark.timeout(30)
def test_own_registry_owns_supervisor() -> None:
    registry = RuntimeSessions()
    runtime = registry.start(load(doc('<final id="pass"/>'), allow_python=True))
    assert registry.wait(runtime, WAIT)
    assert runtime.configuration == {"pass"}
    registry.stop()
    registry.supervisor.check_leaks()
    assert registry.supervisor.state.value == "stopped"


# -- Runtime hooks that RuntimeSessions relies on -------------------------


def finishing_machine() -> Machine:
    return Machine(
        [
            State("a", transitions=[Transition(event="go", target="f")]),
            Final("f", donedata=lambda ctx: 42),
        ]
    )


@pytest.mark.timeout(30)
def test_on_finish_called_once_with_done_data() -> None:
    calls: list[tuple[str, object]] = []
    with Supervisor("on-finish") as supervisor:
        runtime = Runtime(
            finishing_machine(),
            name="finisher",
            supervisor=supervisor,
            on_finish=lambda rt, data: calls.append((rt.name, data)),
        )
        runtime.start()
        runtime.send("go")
        runtime.send("late")
        assert runtime.wait_idle(WAIT)
        assert calls == [("finisher", 42)]
        assert runtime.finished
        runtime.stop()


@pytest.mark.timeout(30)
def test_event_after_finish_discarded() -> None:
    with Supervisor("after-finish") as supervisor:
        runtime = Runtime(finishing_machine(), supervisor=supervisor).start()
        runtime.send("go")
        runtime.send("late")
        assert runtime.wait_idle(WAIT)
        assert runtime.actor.restarts == 0
        assert runtime.configuration == {"f"}
        runtime.stop()


@pytest.mark.timeout(30)
def test_schedule_delivery_fires_and_cancels() -> None:
    with Supervisor("schedule") as supervisor:
        runtime = Runtime(finishing_machine(), supervisor=supervisor).start()
        delivered: list[Event] = []
        fired = threading.Event()

        def deliver(event: Event) -> None:
            delivered.append(event)
            fired.set()

        sendid = runtime.schedule_delivery(Event("x"), 0.01, deliver)
        assert fired.wait(WAIT)
        assert delivered[0].sendid == sendid
        assert runtime.schedule_delivery(Event("y", sendid="s1"), 60.0, deliver) == "s1"
        assert runtime.cancel("s1")
        assert not runtime.cancel("s1")
        runtime.schedule_delivery(Event("z"), 60.0, deliver)
        runtime.stop()
        assert supervisor.timers.pending() == 0
        assert [e.name for e in delivered] == ["x"]
