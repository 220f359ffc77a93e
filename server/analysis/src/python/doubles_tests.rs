//! APM201 (test doubles that emulate another protocol than the real target): one test per
//! double form, each with a case that reports and a case that stays silent.
//!
//! The checked file is always a test module; `app/db.py` holds the real definitions.

use std::path::Path;

use super::tests::{analyse, check, ROOT};

/// The real definitions: line 3 an async generator function, line 7 an async-context-manager
/// factory, line 10 a coroutine function, line 13 a class with one of each as methods.
const DB: &str = "from contextlib import asynccontextmanager\n\nasync def get_session():\n    yield 1\n\n@asynccontextmanager\nasync def transaction():\n    yield 2\n\nasync def fetch():\n    return 3\n\nclass Client:\n    async def stream(self):\n        yield 1\n\n    async def get(self):\n        return 1\n";

const TEST_FILE: &str = "tests/test_db.py";

#[track_caller]
fn check_test(source: &str, expect: &str) {
    check(&[(TEST_FILE, source), ("app/__init__.py", ""), ("app/db.py", DB)], expect);
}

#[track_caller]
fn check_test_with(source: &str, extra: &[(&str, &str)], expect: &str) {
    let mut files = vec![(TEST_FILE, source), ("app/__init__.py", ""), ("app/db.py", DB)];
    files.extend_from_slice(extra);
    check(&files, expect);
}

// ---------------------------------------------------------------- @patch decorator

#[test]
fn patch_decorator_configured_as_async_context_manager_over_an_async_generator() {
    check_test(
        "from unittest.mock import patch\n\n@patch(\"app.db.get_session\")\nasync def test_x(get_session_mock):\n    get_session_mock.return_value.__aenter__.return_value = \"s\"\n",
        "5:5 APM201 `get_session_mock.return_value.__aenter__.return_value = \"s\"`",
    );
}

#[test]
fn patch_decorator_matching_the_real_protocol_is_fine() {
    check_test(
        "from unittest.mock import patch\n\n@patch(\"app.db.transaction\")\nasync def test_x(transaction_mock):\n    transaction_mock.return_value.__aenter__.return_value = \"s\"\n",
        "",
    );
}

#[test]
fn stacked_patch_decorators_hand_mocks_bottom_up() {
    // Bottom-most decorator → first parameter: these names are swapped, so both mismatch.
    check_test(
        "from unittest import mock\n\n@mock.patch(\"app.db.transaction\")\n@mock.patch(\"app.db.get_session\")\nasync def test_x(transaction_mock, get_session_mock):\n    transaction_mock.return_value.__aenter__.return_value = 1\n    get_session_mock.return_value.__aiter__.return_value = iter([1])\n",
        "6:5 APM201 `transaction_mock.return_value.__aenter__.return_value = 1`\n7:5 APM201 `get_session_mock.return_value.__aiter__.return_value = iter([1])`",
    );
    check_test(
        "from unittest import mock\n\n@mock.patch(\"app.db.transaction\")\n@mock.patch(\"app.db.get_session\")\nasync def test_x(get_session_mock, transaction_mock):\n    transaction_mock.return_value.__aenter__.return_value = 1\n    get_session_mock.return_value.__aiter__.return_value = iter([1])\n",
        "",
    );
}

#[test]
fn patch_decorator_on_a_method_skips_self() {
    check_test(
        "import unittest\nfrom unittest.mock import patch\n\nclass TestDb(unittest.IsolatedAsyncioTestCase):\n    @patch(\"app.db.get_session\")\n    async def test_x(self, session_mock):\n        session_mock.return_value.__aenter__.return_value = 1\n",
        "7:9 APM201 `session_mock.return_value.__aenter__.return_value = 1`",
    );
}

#[test]
fn patch_decorator_with_new_hands_no_parameter() {
    // `new=` given: the decorator passes nothing, so `m` belongs to the second decorator.
    check_test(
        "from unittest.mock import patch\n\nasync def fake():\n    yield 1\n\n@patch(\"app.db.transaction\")\n@patch(\"app.db.get_session\", new=fake)\nasync def test_x(m):\n    m.return_value.__aenter__.return_value = 1\n",
        "",
    );
}

// ---------------------------------------------------------------- with patch(...) as m

#[test]
fn patch_context_manager_configured_as_async_context_manager() {
    check_test(
        "from unittest.mock import patch\n\nasync def test_x():\n    with patch(\"app.db.get_session\") as m:\n        m.return_value.__aenter__.return_value = 1\n        m.return_value.__aexit__.return_value = None\n",
        "5:9 APM201 `m.return_value.__aenter__.return_value = 1`",
    );
}

#[test]
fn patch_context_manager_configured_as_async_iterable_is_fine() {
    check_test(
        "from unittest.mock import patch\n\nasync def test_x():\n    with patch(\"app.db.get_session\") as m:\n        m.return_value.__aiter__.return_value = iter([1, 2])\n",
        "",
    );
}

#[test]
fn one_name_reused_for_two_mocks_keeps_their_chains_apart() {
    check_test(
        "from unittest.mock import patch\n\nasync def test_x():\n    with patch(\"app.db.get_session\") as m:\n        m.return_value.__aiter__.return_value = iter([1])\n    with patch(\"app.db.transaction\") as m:\n        m.return_value.__aenter__.return_value = 1\n",
        "",
    );
}

// ---------------------------------------------------------------- patch(...).start()

#[test]
fn started_patcher_configured_as_async_context_manager() {
    check_test(
        "from unittest.mock import patch\n\ndef test_x():\n    m = patch(\"app.db.get_session\").start()\n    m.return_value.__aenter__.return_value = 1\n",
        "5:5 APM201 `m.return_value.__aenter__.return_value = 1`",
    );
    check_test(
        "from unittest.mock import patch\n\ndef test_x():\n    patcher = patch(\"app.db.get_session\")\n    m = patcher.start()\n    m.return_value.__aenter__.return_value = 1\n",
        "6:5 APM201 `m.return_value.__aenter__.return_value = 1`",
    );
}

#[test]
fn started_patcher_matching_is_fine() {
    check_test(
        "from unittest.mock import patch\n\ndef test_x():\n    m = patch(\"app.db.transaction\").start()\n    m.return_value.__aenter__.return_value = 1\n",
        "",
    );
}

// ---------------------------------------------------------------- patch.object

#[test]
fn patch_object_on_a_module() {
    check_test(
        "from unittest.mock import patch\nfrom app import db\n\ndef test_x():\n    with patch.object(db, \"get_session\") as m:\n        m.return_value.__aenter__.return_value = 1\n",
        "6:9 APM201 `m.return_value.__aenter__.return_value = 1`",
    );
    check_test(
        "from unittest.mock import patch\nfrom app import db\n\ndef test_x():\n    with patch.object(db, \"transaction\") as m:\n        m.return_value.__aenter__.return_value = 1\n",
        "",
    );
}

#[test]
fn patch_object_on_a_class_method_with_new_callable_async_mock() {
    check_test(
        "from unittest.mock import AsyncMock, patch\nfrom app.db import Client\n\ndef test_x():\n    with patch.object(Client, \"stream\", new_callable=AsyncMock):\n        pass\n",
        "5:54 APM201 `AsyncMock`",
    );
    check_test(
        "from unittest.mock import AsyncMock, patch\nfrom app.db import Client\n\ndef test_x():\n    with patch.object(Client, \"get\", new_callable=AsyncMock):\n        pass\n",
        "",
    );
}

// ---------------------------------------------------------------- mocker.patch / mocker.patch.object

#[test]
fn mocker_patch_configured_as_async_context_manager() {
    check_test(
        "def test_x(mocker):\n    m = mocker.patch(\"app.db.get_session\")\n    m.return_value.__aenter__.return_value = 1\n",
        "3:5 APM201 `m.return_value.__aenter__.return_value = 1`",
    );
    check_test(
        "def test_x(mocker):\n    m = mocker.patch(\"app.db.get_session\")\n    m.return_value.__aiter__.return_value = iter([1])\n",
        "",
    );
}

#[test]
fn mocker_must_be_the_pytest_mock_fixture() {
    // Not a test function's parameter.
    check_test(
        "def helper(mocker):\n    m = mocker.patch(\"app.db.get_session\")\n    m.return_value.__aenter__.return_value = 1\n",
        "",
    );
    // A fixture of that name defined in the workspace.
    check_test_with(
        "def test_x(mocker):\n    m = mocker.patch(\"app.db.get_session\")\n    m.return_value.__aenter__.return_value = 1\n",
        &[("tests/conftest.py", "import pytest\n\n@pytest.fixture\ndef mocker():\n    return object()\n")],
        "",
    );
}

#[test]
fn mocker_patch_object_with_side_effect() {
    check_test(
        "from app import db\n\nasync def fake_transaction():\n    yield 1\n\ndef test_x(mocker):\n    mocker.patch.object(db, \"transaction\", side_effect=fake_transaction)\n",
        "7:56 APM201 `fake_transaction`",
    );
    check_test(
        "from contextlib import asynccontextmanager\nfrom app import db\n\n@asynccontextmanager\nasync def fake_transaction():\n    yield 1\n\ndef test_x(mocker):\n    mocker.patch.object(db, \"transaction\", side_effect=fake_transaction)\n",
        "",
    );
}

// ---------------------------------------------------------------- monkeypatch.setattr

#[test]
fn monkeypatch_setattr_on_an_object() {
    check_test(
        "from contextlib import asynccontextmanager\nfrom app import db\n\ndef test_x(monkeypatch):\n    @asynccontextmanager\n    async def fake_session():\n        yield 1\n\n    monkeypatch.setattr(db, \"get_session\", fake_session)\n",
        "9:44 APM201 `fake_session`",
    );
    check_test(
        "from app import db\n\ndef test_x(monkeypatch):\n    async def fake_session():\n        yield 1\n\n    monkeypatch.setattr(db, \"get_session\", fake_session)\n",
        "",
    );
}

#[test]
fn monkeypatch_setattr_with_a_dotted_string() {
    check_test(
        "from contextlib import asynccontextmanager\n\n@asynccontextmanager\nasync def fake_session():\n    yield 1\n\ndef test_x(monkeypatch):\n    monkeypatch.setattr(\"app.db.get_session\", fake_session)\n",
        "8:47 APM201 `fake_session`",
    );
    check_test(
        "async def fake_fetch():\n    return 1\n\ndef test_x(monkeypatch):\n    monkeypatch.setattr(\"app.db.fetch\", fake_fetch)\n",
        "",
    );
}

#[test]
fn setattr_on_something_else_is_not_a_double() {
    check_test(
        "from contextlib import asynccontextmanager\nfrom app import db\n\n@asynccontextmanager\nasync def fake_session():\n    yield 1\n\ndef test_x(patcher):\n    patcher.setattr(db, \"get_session\", fake_session)\n    setattr(db, \"get_session\", fake_session)\n",
        "",
    );
}

// ---------------------------------------------------------------- new= / side_effect= / return_value=

#[test]
fn new_function_of_another_protocol() {
    check_test(
        "from contextlib import asynccontextmanager\nfrom unittest.mock import patch\n\n@asynccontextmanager\nasync def fake_session():\n    yield 1\n\ndef test_x():\n    with patch(\"app.db.get_session\", new=fake_session):\n        pass\n",
        "9:42 APM201 `fake_session`",
    );
    check_test(
        "from unittest.mock import patch\n\nasync def fake_session():\n    yield 1\n\ndef test_x():\n    with patch(\"app.db.get_session\", fake_session):\n        pass\n",
        "",
    );
}

#[test]
fn new_magic_mock_configured_by_name() {
    check_test(
        "from unittest.mock import MagicMock, patch\n\ndef test_x():\n    session = MagicMock()\n    session.return_value.__aenter__.return_value = 1\n    with patch(\"app.db.get_session\", new=session):\n        pass\n",
        "5:5 APM201 `session.return_value.__aenter__.return_value = 1`",
    );
    check_test(
        "from unittest.mock import MagicMock, patch\n\ndef test_x():\n    with patch(\"app.db.get_session\", new=MagicMock()):\n        pass\n",
        "",
    );
}

#[test]
fn side_effect_function_of_another_protocol() {
    check_test(
        "from contextlib import asynccontextmanager\nfrom unittest.mock import patch\n\n@asynccontextmanager\nasync def fake_session():\n    yield 1\n\n@patch(\"app.db.get_session\", side_effect=fake_session)\ndef test_x(m):\n    pass\n",
        "8:42 APM201 `fake_session`",
    );
    check_test(
        "from unittest.mock import patch\n\nclass Boom(Exception):\n    pass\n\n@patch(\"app.db.get_session\", side_effect=Boom)\ndef test_x(m):\n    pass\n",
        "",
    );
}

#[test]
fn return_value_of_another_protocol() {
    check_test(
        "from unittest.mock import patch\n\nclass FakeSession:\n    async def __aenter__(self):\n        return self\n\n    async def __aexit__(self, *exc):\n        return False\n\ndef test_x():\n    with patch(\"app.db.get_session\", return_value=FakeSession()):\n        pass\n",
        "11:51 APM201 `FakeSession()`",
    );
    check_test(
        "from unittest.mock import patch\n\nclass FakeRows:\n    def __aiter__(self):\n        return self\n\n    async def __anext__(self):\n        raise StopAsyncIteration\n\ndef test_x():\n    with patch(\"app.db.get_session\", return_value=FakeRows()):\n        pass\n",
        "",
    );
}

#[test]
fn return_value_mock_configured_by_name() {
    check_test(
        "from unittest.mock import MagicMock, patch\n\ndef test_x():\n    cm = MagicMock()\n    cm.__aenter__.return_value = 1\n    with patch(\"app.db.get_session\", return_value=cm):\n        pass\n",
        "5:5 APM201 `cm.__aenter__.return_value = 1`",
    );
    check_test(
        "from unittest.mock import MagicMock, patch\n\ndef test_x():\n    cm = MagicMock()\n    with patch(\"app.db.get_session\") as m:\n        m.return_value = cm\n        cm.__aenter__.return_value = 1\n",
        "7:9 APM201 `cm.__aenter__.return_value = 1`",
    );
}

// ---------------------------------------------------------------- new_callable= / AsyncMock

#[test]
fn new_callable_async_mock_over_an_async_generator() {
    check_test(
        "from unittest.mock import AsyncMock, patch\n\ndef test_x():\n    with patch(\"app.db.get_session\", new_callable=AsyncMock):\n        pass\n",
        "4:51 APM201 `AsyncMock`",
    );
    check_test(
        "from unittest.mock import AsyncMock, patch\n\ndef test_x():\n    with patch(\"app.db.fetch\", new_callable=AsyncMock):\n        pass\n",
        "",
    );
}

#[test]
fn new_async_mock_over_a_context_manager_factory() {
    check_test(
        "from unittest.mock import AsyncMock, patch\n\ndef test_x():\n    with patch(\"app.db.transaction\", new=AsyncMock(return_value=1)):\n        pass\n",
        "4:42 APM201 `AsyncMock(return_value=1)`",
    );
}

#[test]
fn automatic_async_mock_configures_the_awaited_result() {
    // `patch` makes an `AsyncMock` for a coroutine function: `return_value` is what awaiting
    // gives, so an `__aenter__` there is `async with await fetch()`.
    check_test(
        "from unittest.mock import patch\n\ndef test_x():\n    with patch(\"app.db.fetch\") as m:\n        m.return_value.__aenter__.return_value = 1\n",
        "",
    );
}

#[test]
fn magic_mock_over_a_coroutine_function_configured_as_context_manager() {
    check_test(
        "from unittest.mock import MagicMock, patch\n\ndef test_x():\n    with patch(\"app.db.fetch\", new_callable=MagicMock) as m:\n        m.return_value.__aenter__.return_value = 1\n",
        "5:9 APM201 `m.return_value.__aenter__.return_value = 1`",
    );
}

// ---------------------------------------------------------------- silence

#[test]
fn unconfigured_magic_mock_says_nothing() {
    check_test(
        "from unittest.mock import MagicMock, patch\n\n@patch(\"app.db.get_session\")\ndef test_x(m):\n    m.return_value = MagicMock()\n    m.return_value.fetch.return_value = 1\n",
        "",
    );
}

#[test]
fn unknown_targets_say_nothing() {
    check_test(
        "from unittest.mock import patch\n\ndef test_x():\n    with patch(\"app.db.missing\") as a, patch(\"requests.get\") as b, patch(\"app.nowhere.x\") as c:\n        a.return_value.__aenter__.return_value = 1\n        b.return_value.__aenter__.return_value = 1\n        c.return_value.__aenter__.return_value = 1\n",
        "",
    );
}

#[test]
fn an_unrelated_function_named_patch_says_nothing() {
    check_test(
        "def patch(target):\n    return target\n\ndef test_x(client):\n    with patch(\"app.db.get_session\") as m:\n        m.return_value.__aenter__.return_value = 1\n    client.patch(\"app.db.get_session\").return_value.__aenter__.return_value = 1\n",
        "",
    );
}

#[test]
fn noqa_suppresses_it() {
    check_test(
        "from unittest.mock import patch\n\ndef test_x():\n    with patch(\"app.db.get_session\") as m:\n        m.return_value.__aenter__.return_value = 1  # noqa: APM201\n",
        "",
    );
}

#[test]
fn message_names_the_real_target_and_both_protocols() {
    let (findings, _) = analyse(&[
        (
            TEST_FILE,
            "from unittest.mock import patch\n\ndef test_x():\n    with patch(\"app.db.get_session\") as m:\n        m.return_value.__aenter__.return_value = 1\n",
        ),
        ("app/__init__.py", ""),
        ("app/db.py", DB),
    ]);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let message = &findings[0].message;
    for expected in [
        "calling `app.db.get_session` give an async context manager",
        "`return_value.__aenter__` is configured",
        "the real `get_session` gives an async generator (`async def get_session` at app/db.py:3 contains `yield`)",
        "the test can pass while production fails",
    ] {
        assert!(message.contains(expected), "missing {expected:?} in {message}");
    }
    // The remedy is said once, in the help.
    let help = findings[0].help.as_deref().unwrap_or_default();
    assert!(help.contains("`return_value.__aiter__.return_value"), "{help}");
    assert!(!message.contains("make the double"), "{message}");
    assert_eq!(findings[0].related[0].path, Path::new(ROOT).join("app/db.py"));
    assert!(findings[0].fixes.is_empty());
}

#[test]
fn a_spec_may_turn_a_magic_mock_into_an_async_mock() {
    check_test(
        "from unittest.mock import MagicMock, patch\n\ndef test_x():\n    with patch(\"app.db.fetch\", new_callable=MagicMock, autospec=True) as m:\n        m.return_value.__aenter__.return_value = 1\n",
        "",
    );
    check_test(
        "from unittest.mock import MagicMock, patch\nfrom app.db import fetch\n\ndef test_x():\n    session = MagicMock(spec=fetch)\n    session.return_value.__aenter__.return_value = 1\n    with patch(\"app.db.fetch\", new=session):\n        pass\n",
        "",
    );
    check_test(
        "from unittest.mock import MagicMock, patch\nfrom app.db import fetch\n\ndef test_x():\n    with patch(\"app.db.fetch\", new=MagicMock(spec=fetch)) as m:\n        m.return_value.__aenter__.return_value = 1\n",
        "",
    );
}

#[test]
fn annotated_fixture_parameters_are_accepted() {
    check_test(
        "from typing import Any\n\ndef test_x(mocker: Any):\n    m = mocker.patch(\"app.db.get_session\")\n    m.return_value.__aenter__.return_value = 1\n",
        "5:5 APM201 `m.return_value.__aenter__.return_value = 1`",
    );
    check_test(
        "from app.other import Helper\n\ndef test_x(mocker: Helper):\n    m = mocker.patch(\"app.db.get_session\")\n    m.return_value.__aenter__.return_value = 1\n",
        "",
    );
}

#[test]
fn configuring_the_mock_itself_compares_with_the_object_it_replaces() {
    let clients = "class Rows:\n    def __aiter__(self):\n        return self\n\n    async def __anext__(self):\n        raise StopAsyncIteration\n\nrows = Rows()\n";
    check_test_with(
        "from unittest.mock import patch\n\ndef test_x():\n    with patch(\"app.clients.rows\") as m:\n        m.__aenter__.return_value = 1\n",
        &[("app/clients.py", clients)],
        "5:9 APM201 `m.__aenter__.return_value = 1`",
    );
    check_test_with(
        "from unittest.mock import patch\n\ndef test_x():\n    with patch(\"app.clients.rows\") as m:\n        m.__aiter__.return_value = iter([])\n",
        &[("app/clients.py", clients)],
        "",
    );
    let (findings, _) = analyse(&[
        (
            TEST_FILE,
            "from unittest.mock import patch\n\ndef test_x():\n    with patch(\"app.clients.rows\") as m:\n        m.__aenter__.return_value = 1\n",
        ),
        ("app/__init__.py", ""),
        ("app/clients.py", clients),
    ]);
    let message = &findings[0].message;
    assert!(message.contains("makes `app.clients.rows` an async context manager"), "{message}");
    assert!(message.contains("the real `rows` is an instance of `class Rows` at app/clients.py:1"), "{message}");
}

// ---------------------------------------------------------------- facts

#[test]
fn facts_keep_doubles_small() {
    let facts = crate::python::facts::extract(
        "@patch(\"a.b\")\ndef test_x(m, client):\n    m.return_value.__aenter__.return_value = 1\n    m.other = 2\n    unrelated.return_value = 3\n    client.patch(\"/items/1\", json={})\n    client.post(\"a.b\")\n",
    );
    assert_eq!(facts.doubles.len(), 1, "{:#?}", facts.doubles);
    let double = &facts.doubles[0];
    assert_eq!(double.mock_name.as_deref(), Some("m"));
    assert_eq!(double.configurations.len(), 1, "{:#?}", double.configurations);
    let path: Vec<&str> = double.configurations[0].path.iter().map(|part| &**part).collect();
    assert_eq!(path, ["return_value", "__aenter__", "return_value"]);
}
