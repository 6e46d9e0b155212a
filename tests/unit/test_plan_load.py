"""Loading a tracking plan: structure and types, every error naming the file and the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from capigate.errors import PlanError
from capigate.findings import Finding
from capigate.plan import load_file, load_plan
from capigate.plan.yamldoc import child

GOOD = textwrap.dedent(
    """\
    version: 1
    defaults:
      currency: UZS
      default_region: UZ
      pixel: 1234567890
    events:
      signup:
        event_name: CompleteRegistration
        action_source: website
        sources: [website]
        required: [plan]
        optional: [utm_source]
        custom_data:
          fields: [plan, utm_source]
          constants: {status: done, step_count: 5}
        user_data: [em, client_user_agent]
        event_id: signup_{session_id}
    """
)


def _errors(text: str, name: str = "plan.yaml") -> list[Finding]:
    with pytest.raises(PlanError) as caught:
        load_plan(text, name=name)
    return caught.value.findings


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the ``occurrence``-th ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def _broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def test_good_plan_loads_with_its_rules_and_defaults() -> None:
    """Every field lands in the model; a numeric pixel id becomes a string."""
    plan = load_plan(GOOD, name="plan.yaml")
    event = plan.events["signup"]
    assert plan.keys == ("signup",)
    assert plan.defaults.currency == "UZS" and plan.defaults.pixel == "1234567890"
    assert event.required == ("plan",) and event.optional == ("utm_source",)
    assert event.custom_fields == ("plan", "utm_source")
    assert dict(event.custom_constants) == {"status": "done", "step_count": 5}
    assert event.id_fields == ("session_id",)
    assert event.fallback_action_source == "chat"


def test_plan_where_gives_file_and_line_of_a_field() -> None:
    """The linter can cite file:line for a path, falling back to its nearest parent."""
    plan = load_plan(GOOD, name="plan.yaml")
    assert plan.where("$.events.signup.event_id") == f"plan.yaml:{_line(GOOD, 'event_id:')}"
    assert plan.where("$.events.signup.nothing") == f"plan.yaml:{_line(GOOD, 'signup:')}"
    assert plan.where("") == "plan.yaml"


def test_yaml_syntax_error_names_file_and_line() -> None:
    """A YAML parse error is a PlanError with the line of the problem, not a yaml exception."""
    text = _broken("    sources: [website]\n", "    sources: [website\n")
    (finding,) = _errors(text)
    assert finding.rule == "yaml_syntax"
    assert finding.message.startswith("plan.yaml:")
    assert "not valid YAML" in finding.message


def test_bad_indentation_points_at_its_line() -> None:
    """A mis-indented key is reported at the line where the parser choked."""
    text = _broken("    required: [plan]\n", "   required: [plan]\n")
    (finding,) = _errors(text)
    assert finding.message.startswith(f"plan.yaml:{_line(text, 'required')}:")


def test_duplicate_key_is_an_error_at_the_second_occurrence() -> None:
    """YAML would silently keep the last value; the loader refuses it instead."""
    text = _broken("    sources: [website]\n", "    sources: [website]\n    sources: [bot]\n")
    (finding,) = _errors(text)
    assert finding.rule == "duplicate_key"
    assert finding.path == "$.events.signup.sources"
    assert finding.message.startswith(f"plan.yaml:{_line(text, 'sources', 2)}:")


def test_unknown_field_suggests_the_close_name() -> None:
    """A typo in a field name names the line and the likely intended field."""
    text = _broken("    event_id: signup_{session_id}", "    evnt_id: signup_{session_id}")
    rules = {f.rule: f for f in _errors(text)}
    typo = rules["unknown_field"]
    assert typo.message.startswith(f"plan.yaml:{_line(text, 'evnt_id')}:")
    assert "did you mean 'event_id'" in typo.message
    assert "field_required" in rules  # and event_id itself is now missing


def test_missing_required_field_points_at_the_event() -> None:
    """A missing event_name is reported at the event's own line."""
    text = _broken("    event_name: CompleteRegistration\n", "")
    (finding,) = _errors(text)
    assert finding.rule == "field_required"
    assert finding.path == "$.events.signup.event_name"
    assert finding.message.startswith(f"plan.yaml:{_line(text, 'signup:')}:")


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("sources: [website]", "sources: website", "$.events.signup.sources"),
        ("sources: [website]", "sources: []", "$.events.signup.sources"),
        ("required: [plan]", "required: [plan, 3]", "$.events.signup.required[1]"),
        ("event_name: CompleteRegistration", "event_name: 42", "$.events.signup.event_name"),
        ("action_source: website", "action_source: ''", "$.events.signup.action_source"),
        ("custom_data:\n", "value_required: yes please\n    custom_data:\n", None),
        ("user_data: [em, client_user_agent]", "user_data: {em: 1}", "$.events.signup.user_data"),
    ],
)
def test_wrong_types_name_the_field_and_line(old: str, new: str, path: str | None) -> None:
    """A value of the wrong type is a field_type error at that field's line."""
    text = _broken(old, new)
    findings = _errors(text)
    assert {f.rule for f in findings} == {"field_type"}
    finding = findings[0]
    if path is not None:
        assert finding.path == path
    field = (path or "$.events.signup.value_required").rsplit(".", 1)[-1].split("[")[0]
    assert finding.message.startswith(f"plan.yaml:{_line(text, field + ':')}:")


@pytest.mark.parametrize(
    "template",
    ["signup_{session_id", "signup_{session_id:>10}", "signup_{}", "signup_{0}", "x_{a!r}"],
)
def test_malformed_event_id_template_is_refused(template: str) -> None:
    """event_id templates are plain {name} variables only."""
    text = _broken("signup_{session_id}", template)
    (finding,) = _errors(text)
    assert finding.rule == "event_id_template"
    assert finding.path == "$.events.signup.event_id"


def test_plan_key_must_be_snake_case() -> None:
    """Keys are what sources send in `event`: lowercase snake_case only."""
    text = _broken("  signup:", "  Sign-Up:")
    (finding,) = _errors(text)
    assert finding.rule == "plan_key_format"
    assert finding.message.startswith(f"plan.yaml:{_line(text, 'Sign-Up')}:")


def test_custom_data_constant_must_be_a_scalar_and_not_a_field() -> None:
    """Constants are fixed scalars; naming one also as a field is ambiguous."""
    text = _broken("{status: done, step_count: 5}", "{status: [a], plan: x}")
    rules = sorted(f.rule for f in _errors(text))
    assert rules == ["custom_data_conflict", "field_type"]


def test_custom_data_may_be_a_plain_list_of_fields() -> None:
    """`custom_data: [a, b]` is shorthand for fields only."""
    text = _broken(
        "      fields: [plan, utm_source]\n      constants: {status: done, step_count: 5}\n", ""
    ).replace("    custom_data:\n", "    custom_data: [plan, utm_source]\n")
    event = load_plan(text).events["signup"]
    assert event.custom_fields == ("plan", "utm_source") and not event.custom_constants


def test_custom_data_of_another_type_is_refused() -> None:
    """custom_data is a list or a {fields, constants} mapping, nothing else."""
    text = _broken(
        "      fields: [plan, utm_source]\n      constants: {status: done, step_count: 5}\n", ""
    ).replace("    custom_data:\n", "    custom_data: plan\n")
    (finding,) = _errors(text)
    assert finding.path == "$.events.signup.custom_data"
    assert "{fields, constants}" in finding.message


def test_property_in_required_and_optional_is_refused() -> None:
    """A property is either required or optional."""
    text = _broken("optional: [utm_source]", "optional: [utm_source, plan]")
    (finding,) = _errors(text)
    assert finding.rule == "property_declared_twice" and "'plan'" in finding.message


def test_a_name_listed_twice_is_refused() -> None:
    """Lists of names hold each name once."""
    (finding,) = _errors(_broken("sources: [website]", "sources: [website, website]"))
    assert finding.rule == "duplicate_name"


def test_defaults_are_checked() -> None:
    """Unknown default fields and policies are errors with their line."""
    text = _broken("  currency: UZS\n", "  currency: UZS\n  currencies: [UZS]\n")
    text = text.replace("defaults:\n", "defaults:\n  undeclared_properties: ignore\n")
    rules = sorted(f.rule for f in _errors(text))
    assert rules == ["field_value", "unknown_field"]


def test_defaults_must_be_a_mapping() -> None:
    """`defaults: UZ` is a type error."""
    text = GOOD.replace(
        "defaults:\n  currency: UZS\n  default_region: UZ\n  pixel: 1234567890\n", ""
    )
    (finding,) = _errors("defaults: UZ\n" + text)
    assert finding.path == "$.defaults" and finding.rule == "field_type"


def test_action_source_by_source_maps_names_to_strings() -> None:
    """action_source_by_source is a mapping of source -> action source."""
    ok = load_plan(
        _broken(
            "sources: [website]", "sources: [website]\n    action_source_by_source: {bot: chat}"
        )
    )
    assert dict(ok.events["signup"].action_source_by_source) == {"bot": "chat"}
    text = _broken(
        "sources: [website]", "sources: [website]\n    action_source_by_source: {bot: [x]}"
    )
    (finding,) = _errors(text)
    assert finding.path == "$.events.signup.action_source_by_source.bot"


def test_fallback_action_source_null_disables_the_fallback() -> None:
    """An explicit null means: refuse app events without app_data instead of falling back."""
    text = _broken("sources: [website]", "sources: [website]\n    fallback_action_source: null")
    assert load_plan(text).events["signup"].fallback_action_source is None
    other = GOOD.replace("  currency: UZS\n", "  currency: UZS\n  fallback_action_source: other\n")
    assert load_plan(other).events["signup"].fallback_action_source == "other"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "field_type"),
        ("- a\n- b\n", "field_type"),
        ("version: 1\n", "field_required"),
        ("events: {}\n", "field_value"),
        ("events: [a]\n", "field_type"),
        ("version: 2\nevents:\n  a: 1\n", "plan_version"),
        ("events:\n  a: 1\n", "field_type"),
        ("a: 1\n---\nb: 2\n", "yaml_syntax"),
        ("allow_meta_names: 1\nevents: {}\n", "field_type"),
    ],
)
def test_plan_shape_errors(text: str, rule: str) -> None:
    """The document must be one mapping with at least one event."""
    assert rule in {f.rule for f in _errors(text)}


def test_every_problem_is_reported_at_once() -> None:
    """Two broken events give two findings, and the error text lists both."""
    text = GOOD + textwrap.dedent(
        """\
          other:
            event_name: Lead
            action_source: website
            sources: [website]
            event_id: other_{session_id
        """
    )
    text = text.replace("    event_name: CompleteRegistration\n", "")
    with pytest.raises(PlanError) as caught:
        load_plan(text, name="p.yaml")
    assert len(caught.value.findings) == 2
    assert "2 problem(s)" in str(caught.value)
    assert str(caught.value).count("p.yaml:") == 3  # the header and one line per problem


def test_load_file_names_the_path(tmp_path: Path) -> None:
    """Errors from a file carry its path; a missing file is a PlanError, not an OSError."""
    path = tmp_path / "plan.yaml"
    path.write_text(_broken("event_name: CompleteRegistration", "event_name: 7"))
    with pytest.raises(PlanError) as caught:
        load_file(path)
    assert caught.value.findings[0].message.startswith(f"{path}:")
    with pytest.raises(PlanError) as missing:
        load_file(tmp_path / "absent.yaml")
    assert missing.value.findings[0].rule == "plan_unreadable"


def test_load_file_reads_a_good_plan(tmp_path: Path) -> None:
    """A good file loads and its name is the path."""
    path = tmp_path / "plan.yaml"
    path.write_text(GOOD)
    assert load_file(path).name == str(path)


def test_child_builds_jsonpaths() -> None:
    """Identifiers use dots, list indexes brackets, odd keys quoted brackets."""
    assert child("$", "events") == "$.events"
    assert child("$.a", 3) == "$.a[3]"
    assert child("$", "a b") == "$['a b']"


def test_unreadable_characters_are_a_yaml_error() -> None:
    """A control character is refused by the YAML reader, still as a PlanError."""
    (finding,) = _errors(GOOD.replace("UZS", "U\x07S", 1))
    assert finding.rule == "yaml_syntax" and finding.message.startswith("plan.yaml")


def test_missing_sources_is_required() -> None:
    """Every event says who may send it."""
    (finding,) = _errors(_broken("    sources: [website]\n", ""))
    assert (finding.rule, finding.path) == ("field_required", "$.events.signup.sources")


def test_yaml_anchors_and_merge_keys_share_fields() -> None:
    """Plans may factor common fields with `<<: *anchor`."""
    text = GOOD.replace("  signup:\n", "  signup: &base\n") + (
        "  signup_again:\n    <<: *base\n    event_id: again_{session_id}\n"
    )
    plan = load_plan(text)
    again = plan.events["signup_again"]
    assert again.event_name == "CompleteRegistration" and again.event_id == "again_{session_id}"
