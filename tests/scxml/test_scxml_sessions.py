"""Invocations and cross-session sends in SyncSessions, the synchronous host."""

from __future__ import annotations

import pytest

from statechartx import Interpreter
from statechartx.scxml import SyncSessions, load

NS = 'xmlns="http://www.w3.org/2005/07/scxml" version="1.0"'


def doc(body: str, datamodel: str = "", attrs: str = "") -> str:
    return f'<scxml {NS} datamodel="python" {attrs}>{datamodel}{body}</scxml>'


def child(body: str, datamodel: str = "") -> str:
    return f"<content>{doc(body, datamodel)}</content>"


def start(text: str) -> tuple[SyncSessions, Interpreter]:
    sessions = SyncSessions()
    return sessions, sessions.start(load(text, allow_python=True))


def test_child_sends_to_parent_with_invokeid_then_done() -> None:
    sessions, parent = start(
        doc(
            f"""<state id="s">
                 <invoke id="kid"><param name="n" expr="5"/>{child(
                     '<final id="f"><onentry><send target="#_parent" event="hello"><param name="twice" expr="n * 2"/></send></onentry></final>',
                     '<datamodel><data id="n" expr="0"/></datamodel>')}</invoke>
                 <transition event="hello" target="t"><assign location="got" expr="(_event.invokeid, _event.data.twice)"/></transition>
               </state>
               <state id="t"><transition event="done.invoke.kid" target="end"/></state>
               <final id="end"/>""",
            "<datamodel><data id='got'/></datamodel>",
        )
    )
    assert parent.finished
    assert parent.data["got"] == ("kid", 10)
    assert sessions.session_ids == ()


def test_parent_sends_to_child_by_invokeid() -> None:
    sessions, parent = start(
        doc(
            f"""<state id="s">
                 <invoke id="kid">{child('<state id="c"><transition event="ping" target="cf"><send target="#_parent" event="pong"/></transition></state><final id="cf"/>')}</invoke>
                 <transition event="go"><send target="#_kid" event="ping"/></transition>
                 <transition event="pong" target="t"/>
               </state><state id="t"/>"""
        )
    )
    assert parent.configuration == {"s"}
    assert len(sessions.session_ids) == 2
    sessions.send(parent, "go")
    assert parent.configuration == {"t"}


def test_exit_cancels_child_and_its_timers() -> None:
    sessions, parent = start(
        doc(
            f"""<state id="s">
                 <invoke id="kid">{child('<state id="c"><onentry><send event="tick" delay="1s"/></onentry><onexit><send target="#_parent" event="bye"/></onexit><transition event="tick" target="c"/></state>')}</invoke>
                 <transition event="leave" target="t"/>
               </state><state id="t"><transition event="bye" target="wrong"/></state><state id="wrong"/>"""
        )
    )
    assert sessions.pending_delayed == 1
    sessions.send(parent, "leave")
    assert sessions.session_ids == (parent.session_id,)
    assert sessions.pending_delayed == 0
    assert parent.configuration == {"t"}


def test_autoforward_and_finalize() -> None:
    sessions, parent = start(
        doc(
            f"""<state id="s">
                 <invoke id="kid" autoforward="true">
                   {child('<state id="c"><transition event="fwd" target="cf"><send target="#_parent" event="seen"><param name="v" expr="_event.data"/></send></transition></state><final id="cf"/>')}
                   <finalize><assign location="last" expr="_event.name"/></finalize>
                 </invoke>
                 <transition event="seen" target="t"/>
               </state><state id="t"/>""",
            "<datamodel><data id='last'/></datamodel>",
        )
    )
    sessions.send(parent, "fwd", 9)
    assert parent.configuration == {"t"}
    assert parent.data["last"] == "seen"


def test_delayed_events_share_one_virtual_clock() -> None:
    sessions, parent = start(
        doc(
            f"""<state id="s">
                 <onentry><send event="parent_late" delay="2s"/></onentry>
                 <invoke id="kid">{child('<state id="c"><onentry><send target="#_parent" event="child_early" delay="1s"/></onentry></state>')}</invoke>
                 <transition event="child_early" target="t"/>
               </state>
               <state id="t"><transition event="parent_late" target="end"/></state><final id="end"/>"""
        )
    )
    assert sessions.advance() == 1
    assert sessions.clock == 1.0
    assert parent.configuration == {"t"}
    assert sessions.advance() == 1
    assert sessions.clock == 2.0
    assert parent.finished


def test_send_to_own_session_and_unknown_session() -> None:
    sessions, parent = start(
        doc(
            """<state id="s"><onentry>
                 <send event="self" targetexpr="'#_scxml_' + _sessionid"/>
                 <send event="lost" target="#_scxml_nobody"/>
               </onentry>
               <transition event="error.communication" target="t"/></state>
               <state id="t"><transition event="self" target="end"/></state><final id="end"/>"""
        )
    )
    assert parent.finished


def test_invoke_without_registry_is_execution_error() -> None:
    interp = Interpreter(
        load(
            doc(
                f"""<state id="s"><invoke>{child('<state id="c"/>')}</invoke>
                   <transition event="error.execution" target="t"/></state><state id="t"/>"""
            ),
            allow_python=True,
        )
    )
    interp.start()
    assert interp.configuration == {"t"}


def test_invoke_src_relative_to_document(tmp_path) -> None:
    (tmp_path / "kid.scxml").write_text(doc('<final id="kf"/>'), encoding="utf-8")
    main = tmp_path / "main.scxml"
    main.write_text(
        doc('<state id="s"><invoke src="file:kid.scxml"/><transition event="done.invoke" target="t"/></state><state id="t"/>'),
        encoding="utf-8",
    )
    sessions = SyncSessions()
    parent = sessions.start(load(main, allow_python=True))
    assert parent.configuration == {"t"}


def test_send_to_unknown_session_raises_for_caller() -> None:
    sessions, parent = start(doc('<state id="s"/>'))
    with pytest.raises(LookupError, match="not running"):
        sessions.send("nobody", "e")


def test_stop_stops_every_session() -> None:
    kid = child('<state id="c"/>')
    sessions, parent = start(doc(f'<state id="s"><invoke>{kid}</invoke></state>'))
    assert len(sessions.session_ids) == 2
    sessions.stop()
    assert sessions.session_ids == ()
    assert not parent.running
