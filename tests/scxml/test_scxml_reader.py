"""Reading SCXML documents: errors with file and line, the Python opt-in,
the null datamodel, and the behaviour of compiled executable content."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest

from statechartx import ChartError, Event, Interpreter, Machine
from statechartx.scxml import ScxmlError, load

NS = 'xmlns="http://www.w3.org/2005/07/scxml" version="1.0"'


def write(tmp_path: Path, body: str, *, datamodel: str = "python", name: str = "doc.scxml") -> Path:
    path = tmp_path / name
    path.write_text(
        f'<?xml version="1.0"?>\n<scxml {NS} datamodel="{datamodel}">\n{body}\n</scxml>\n',
        encoding="utf-8",
    )
    return path


def load_error(path: Path, **options: object) -> ScxmlError:
    options.setdefault("allow_python", True)
    with pytest.raises(ScxmlError) as info:
        load(path, **options)  # type: ignore[arg-type]
    return info.value


# Each case: document body, line of the fault, element named, words of the fix.
MALFORMED = [
    pytest.param('<state id="a">\n<frobnicate/>\n</state>', 4, "frobnicate", "allowed here", id="unknown-element"),
    pytest.param('<state id="a">\n<transition event="go" target="nowhere"/>\n</state>', 4, "transition", "'nowhere'", id="bad-target"),
    pytest.param('<state id="a">\n<onentry>\n<raise/>\n</onentry>\n</state>', 5, "raise", "event", id="raise-without-event"),
    pytest.param('<state id="a">\n<onentry><log expr="1 +"/></onentry>\n</state>', 4, "log", "not a valid Python expression", id="unparsable-expr"),
    pytest.param('<state id="a">\n<transition cond="x ==" target="a"/>\n</state>', 4, "transition", "cond", id="unparsable-cond"),
    pytest.param('<state id="a"/>\n<state id="a"/>', 4, "state", "duplicate id 'a'", id="duplicate-id"),
    pytest.param('<state id="a">\n<onentry><assign expr="1"/></onentry>\n</state>', 4, "assign", "missing location", id="assign-without-location"),
    pytest.param('<state id="a">\n<onentry><send/></onentry>\n</state>', 4, "send", "event or eventexpr", id="send-without-event"),
    pytest.param('<state id="a">\n<onentry><send event="e" delay="soon"/></onentry>\n</state>', 4, "send", "invalid delay", id="bad-delay"),
    pytest.param('<state id="a">\n<onentry><send event="e" target="#_internal" targetexpr="x"/></onentry>\n</state>', 4, "send", "keep one", id="exclusive-attributes"),
    pytest.param('<state id="a">\n<transition/>\n</state>', 4, "transition", "at least one of event, cond and target", id="empty-transition"),
    pytest.param('<state id="a">\n<transition event="go" type="sideways" target="a"/>\n</state>', 4, "transition", "internal", id="bad-transition-type"),
    pytest.param('<state id="a" initial="b"/>', 3, "state", "no child states", id="initial-without-children"),
    pytest.param('<parallel id="p">\n<history id="h" type="shallowish"/>\n<state id="r"/>\n</parallel>', 4, "history", "deep", id="bad-history-type"),
    pytest.param('<state id="a">\n<onentry><elseif cond="True"/></onentry>\n</state>', 4, "elseif", "inside <if>", id="elseif-outside-if"),
    pytest.param('<state id="a">\n<onentry><foreach array="[1]" item="1x"/></onentry>\n</state>', 4, "foreach", "item", id="bad-foreach-item"),
    pytest.param('<datamodel>\n<data id="x" expr="1"/>\n<data id="x" expr="2"/>\n</datamodel>\n<state id="a"/>', 5, "data", "already declared", id="duplicate-data"),
    pytest.param('<state id="a">\n<invoke/>\n</state>', 4, "invoke", "src, srcexpr or <content>", id="invoke-without-document"),
]


@pytest.mark.parametrize(("body", "line", "element", "fix"), MALFORMED)
def test_malformed_document_names_file_line_element(
    tmp_path: Path, body: str, line: int, element: str, fix: str
) -> None:
    path = write(tmp_path, body)
    error = load_error(path)
    message = str(error)
    assert message.startswith(f"{path}:{line}: <{element}>"), message
    assert fix in message
    assert error.file == str(path)
    assert error.line == line
    assert error.element == element


def test_scxml_error_is_chart_error() -> None:
    assert issubclass(ScxmlError, ChartError)


def test_not_xml_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.scxml"
    path.write_text(f"<scxml {NS}>\n<state id='a'>\n</scxml>\n", encoding="utf-8")
    error = load_error(path)
    assert str(error).startswith(f"{path}:3:")
    assert "not well-formed XML" in str(error)
    assert "column" in str(error)


def test_missing_file_is_scxml_error(tmp_path: Path) -> None:
    error = load_error(tmp_path / "absent.scxml")
    assert "cannot read the document" in str(error)


def test_wrong_root_element(tmp_path: Path) -> None:
    path = tmp_path / "html.scxml"
    path.write_text("<html/>", encoding="utf-8")
    assert "<scxml>" in str(load_error(path))


def test_document_without_state(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    assert "no state" in str(load_error(path))


def test_unsupported_datamodel(tmp_path: Path) -> None:
    path = write(tmp_path, '<state id="a"/>', datamodel="ecmascript")
    error = load_error(path)
    assert "'ecmascript' is not supported" in str(error)
    assert error.line == 2


def test_text_source_reports_string_as_file() -> None:
    with pytest.raises(ScxmlError, match=r"^<string>:2: <bogus>"):
        load(f"<scxml {NS}>\n<state id='a'><bogus/></state></scxml>")


def test_error_in_invoked_inline_document_names_line(tmp_path: Path) -> None:
    body = (
        '<state id="a">\n<invoke>\n<content>\n'
        f'<scxml {NS} datamodel="null">\n<state id="c"><transition target="zz"/></state>\n'
        "</scxml>\n</content>\n</invoke>\n</state>"
    )
    error = load_error(write(tmp_path, body))
    assert error.line == 7
    assert "'zz'" in str(error)


# -- the Python opt-in ----------------------------------------------------------


def test_python_datamodel_needs_opt_in(tmp_path: Path) -> None:
    path = write(tmp_path, '<state id="a"/>')
    with pytest.raises(ScxmlError) as info:
        load(path)
    message = str(info.value)
    assert "allow_python=True" in message
    assert 'datamodel="python"' in message
    assert message.startswith(f"{path}:2: <scxml>")


def test_python_opt_in_loads(tmp_path: Path) -> None:
    machine = load(write(tmp_path, '<state id="a"/>'), allow_python=True)
    assert isinstance(machine, Machine)


def test_datamodel_override_also_needs_opt_in(tmp_path: Path) -> None:
    path = write(tmp_path, '<state id="a"/>', datamodel="null")
    with pytest.raises(ScxmlError, match="allow_python=True"):
        load(path, datamodel="python")


def test_invoked_python_document_needs_opt_in(tmp_path: Path) -> None:
    body = (
        '<state id="a"><invoke><content>'
        f'<scxml {NS} datamodel="python"><state id="c"/></scxml>'
        "</content></invoke></state>"
    )
    with pytest.raises(ScxmlError, match="allow_python=True"):
        load(write(tmp_path, body, datamodel="null"))


# -- null datamodel ---------------------------------------------------------------

NULL_DOC = f"""<scxml {NS} datamodel="null" initial="p">
  <parallel id="p">
    <state id="a"><state id="a1"><transition event="go" target="a2"/></state><state id="a2"/></state>
    <state id="b">
      <state id="b1"><transition cond="In('a2') and not In('b2')" target="b2"/></state>
      <state id="b2">
        <onentry><raise event="done"/><log label="reached" expr="'b2'"/></onentry>
        <transition event="done" target="end"/>
      </state>
    </state>
  </parallel>
  <final id="end"/>
</scxml>"""


def test_null_datamodel_needs_no_opt_in() -> None:
    interp = Interpreter(load(NULL_DOC))
    interp.start()
    assert interp.configuration == {"p", "a", "a1", "b", "b1"}
    interp.send("go")
    assert interp.finished
    assert interp.configuration == {"end"}


def test_null_datamodel_log_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    interp = Interpreter(load(NULL_DOC))
    interp.start()
    with caplog.at_level(logging.INFO, logger="statechartx.scxml.log"):
        interp.send("go")
    assert any("reached: 'b2'" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("element", "fix"),
    [
        ('<transition cond="__import__(\'os\')" target="a"/>', "In('state')"),
        ('<onentry><log expr="open(\'/etc/passwd\')"/></onentry>', "literals"),
        ('<onentry><assign location="x" expr="1"/></onentry>', "datamodel with variables"),
        ('<onentry><script>print(1)</script></onentry>', "datamodel with variables"),
        ('<datamodel><data id="x"/></datamodel>', "datamodel with variables"),
    ],
)
def test_null_datamodel_rejects_code(tmp_path: Path, element: str, fix: str) -> None:
    path = write(tmp_path, f'<state id="a">\n{element}\n</state>', datamodel="null")
    with pytest.raises(ScxmlError) as info:
        load(path)
    assert fix in str(info.value)
    assert info.value.line == 4


def test_document_without_datamodel_is_null(tmp_path: Path) -> None:
    path = tmp_path / "plain.scxml"
    path.write_text(f'<scxml {NS}><state id="a"><onentry><assign location="x" expr="1"/></onentry></state></scxml>')
    with pytest.raises(ScxmlError, match="'null'"):
        load(path)


# -- executable content and datamodel ------------------------------------------------


def run(text: str, **data: object) -> Interpreter:
    interp = Interpreter(load(text, allow_python=True), data=dict(data) if data else None)
    interp.start()
    return interp


def doc(body: str, datamodel: str = "") -> str:
    return f'<scxml {NS} datamodel="python">{datamodel}{body}</scxml>'


def test_error_stops_rest_of_block_only() -> None:
    interp = run(
        doc(
            """<state id="s"><onentry>
                 <assign location="x" expr="1"/>
                 <assign location="x" expr="1 / 0"/>
                 <assign location="x" expr="3"/>
               </onentry>
               <onentry><assign location="y" expr="4"/></onentry>
               <transition event="error.execution" target="caught"/></state>
               <state id="caught"/>""",
            '<datamodel><data id="x"/><data id="y"/></datamodel>',
        )
    )
    assert interp.data["x"] == 1
    assert interp.data["y"] == 4
    assert interp.configuration == {"caught"}


def test_error_event_carries_exception_with_document_traceback(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '<state id="s">\n<onentry>\n<log expr="1 / 0"/>\n</onentry>\n'
        '<transition event="error.execution" target="t"><assign location="err" expr="_event.data"/></transition>\n'
        '</state><state id="t"/>\n<datamodel><data id="err"/></datamodel>',
    )
    interp = Interpreter(load(path, allow_python=True))
    interp.start()
    error = interp.data["err"]
    assert isinstance(error, ZeroDivisionError)
    frames = traceback.extract_tb(error.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno) == (str(path), 5)


def test_raising_cond_is_false_and_queues_error() -> None:
    interp = run(
        doc(
            """<state id="s">
                 <transition cond="undefined_name" target="wrong"/>
                 <transition event="error.execution" target="right"/>
               </state><state id="wrong"/><state id="right"/>"""
        )
    )
    assert interp.configuration == {"right"}


def test_send_params_and_event_fields() -> None:
    interp = run(
        doc(
            """<state id="s">
                 <onentry><send event="ping" namelist="a"><param name="b" expr="a * 2"/></send></onentry>
                 <transition event="ping" target="t">
                   <assign location="got" expr="(_event.data.a, _event.data['b'], _event.type, _event.origin)"/>
                 </transition>
               </state><state id="t"/>""",
            '<datamodel><data id="a" expr="21"/><data id="got"/></datamodel>',
        )
    )
    a, b, kind, origin = interp.data["got"]
    assert (a, b, kind) == (21, 42, "external")
    assert origin == f"#_scxml_{interp.session_id}"


def test_delayed_send_uses_interpreter_clock() -> None:
    interp = run(
        doc(
            """<state id="s">
                 <onentry><send event="late" delay="1.5s"/><send event="later" delay="3s" id="x"/><cancel sendid="x"/></onentry>
                 <transition event="late" target="t"/>
               </state><state id="t"><transition event="later" target="wrong"/></state><state id="wrong"/>"""
        )
    )
    assert interp.configuration == {"s"}
    assert interp.advance(1.0) == 0
    assert interp.configuration == {"s"}
    assert interp.advance() == 1
    assert interp.configuration == {"t"}
    assert interp.advance(10) == 0
    assert interp.configuration == {"t"}


def test_interpreter_data_overrides_document_values() -> None:
    text = doc('<state id="s"/>', '<datamodel><data id="x" expr="1"/><data id="y" expr="2"/></datamodel>')
    interp = run(text, x=10)
    assert (interp.data["x"], interp.data["y"]) == (10, 2)


def test_late_binding_assigns_on_first_entry() -> None:
    text = (
        f'<scxml {NS} datamodel="python" binding="late">'
        '<state id="a"><transition event="go" target="b"/></state>'
        '<state id="b"><datamodel><data id="v" expr="5"/></datamodel></state></scxml>'
    )
    interp = run(text)
    assert "v" in interp.data
    assert interp.data["v"] is None
    interp.send("go")
    assert interp.data["v"] == 5


def test_system_variables_are_read_only() -> None:
    interp = run(
        doc(
            """<state id="s"><onentry><assign location="_sessionid" expr="'x'"/></onentry>
               <transition event="error.execution" target="t"/></state><state id="t"/>"""
        )
    )
    assert interp.configuration == {"t"}
    assert interp.data["_sessionid"] == interp.session_id


def test_foreach_if_and_script() -> None:
    interp = run(
        doc(
            """<state id="s"><onentry>
                 <foreach array="items" item="it" index="i">
                   <if cond="it % 2"><assign location="odd" expr="odd + [i]"/>
                   <elseif cond="it == 4"/><script>four = True</script>
                   <else/><assign location="even" expr="even + 1"/></if>
                 </foreach>
               </onentry></state>""",
            '<datamodel><data id="items" expr="[1, 2, 3, 4]"/><data id="odd" expr="[]"/>'
            '<data id="even" expr="0"/></datamodel>',
        )
    )
    assert interp.data["odd"] == [0, 2]
    assert interp.data["even"] == 1
    assert interp.data["four"] is True


def test_inline_data_is_a_literal_copied_per_session() -> None:
    machine = load(doc('<state id="s"/>', "<datamodel><data id='v'>[1, 2]</data></datamodel>"), allow_python=True)
    first, second = Interpreter(machine), Interpreter(machine)
    first.start()
    second.start()
    first.data["v"].append(3)
    assert second.data["v"] == [1, 2]


def test_deferred_syntax_error_becomes_error_execution() -> None:
    text = doc(
        """<state id="s"><onentry><log expr="1 ="/></onentry>
           <transition event="error.execution" target="t"/></state><state id="t"/>"""
    )
    with pytest.raises(ScxmlError):
        load(text, allow_python=True)
    interp = Interpreter(load(text, allow_python=True, defer_syntax_errors=True))
    interp.start()
    assert interp.configuration == {"t"}


def test_done_data_and_generated_ids() -> None:
    interp = run(
        doc(
            """<state id="s"><state id="inner"><transition target="fin"/></state>
               <final id="fin"><donedata><param name="n" expr="7"/></donedata></final>
               <transition event="done.state.s" target="t"><assign location="got" expr="_event.data.n"/></transition>
               </state><state id="t"><final/></state>""",
            "<datamodel><data id='got'/></datamodel>",
        )
    )
    assert interp.data["got"] == 7
    assert "_final.1" in interp.configuration


def test_initial_element_and_history() -> None:
    interp = run(
        doc(
            """<state id="p"><initial><transition target="b"><assign location="n" expr="n + 1"/></transition></initial>
                 <history id="h" type="deep"><transition target="a"/></history>
                 <state id="a"/><state id="b"><transition event="next" target="a"/></state>
                 <transition event="out" target="o"/>
               </state>
               <state id="o"><transition event="back" target="h"/></state>""",
            "<datamodel><data id='n' expr='0'/></datamodel>",
        )
    )
    assert interp.configuration == {"p", "b"}
    assert interp.data["n"] == 1
    interp.send("next")
    interp.send("out")
    interp.send("back")
    assert interp.configuration == {"p", "a"}
    assert interp.data["n"] == 1


def test_wildcard_suffix_on_empty_prefix_matches_all() -> None:
    interp = run(doc('<state id="s"><onentry><raise event="x.y"/></onentry><transition event=".*" target="t"/></state><state id="t"/>'))
    assert interp.configuration == {"t"}


def test_send_to_parent_without_registry_is_communication_error() -> None:
    interp = run(
        doc(
            """<state id="s"><onentry><send event="e" target="#_parent"/></onentry>
               <transition event="error.communication" target="t"/></state><state id="t"/>"""
        )
    )
    assert interp.configuration == {"t"}


def test_invalid_send_target_is_execution_error() -> None:
    interp = run(
        doc(
            """<state id="s"><onentry><send event="e" target="nowhere" id="sid"/></onentry>
               <transition event="error.execution" target="t"><assign location="sid" expr="_event.sendid"/></transition>
               </state><state id="t"/>""",
            "<datamodel><data id='sid'/></datamodel>",
        )
    )
    assert interp.configuration == {"t"}
    assert interp.data["sid"] == "sid"


def test_event_sent_by_caller_reaches_guards() -> None:
    interp = run(doc('<state id="s"><transition event="go" cond="_event.data == 3" target="t"/></state><state id="t"/>'))
    interp.send(Event("go", 2))
    assert interp.configuration == {"s"}
    interp.send(Event("go", 3))
    assert interp.configuration == {"t"}
