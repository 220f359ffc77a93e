"""Command-line and task frameworks handed coroutine functions (APM110), Python 3.12.

click 8.5, typer 0.29 and celery 5.7 call the decorated function synchronously and drop (or
store) what it returns: an `async def` there makes a coroutine nobody awaits, and the command
exits 0 (the task succeeds) having done nothing. A command class or task base of the caller's
own, or a decorator that runs the coroutine, is the right way to use an `async def`.
"""

import asyncio
import functools

import click
import typer
from celery import Celery, Task, shared_task
from click.testing import CliRunner
from typer.testing import CliRunner as TyperRunner

worker = Celery("corpus", broker="memory://", backend="cache+memory://")
worker.conf.task_always_eager = True


def run_coroutine(f):
    """Runs the coroutine function to completion: the command receives a sync function."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return asyncio.run(f(*args, **kwargs))

    return wrapper


class AsyncCommand(click.Command):
    """A command class that awaits the coroutine its callback returns."""

    def invoke(self, ctx):
        result = super().invoke(ctx)
        return asyncio.run(result) if asyncio.iscoroutine(result) else result


class AsyncTask(Task):
    def __call__(self, *args, **kwargs):
        return asyncio.run(self.run(*args, **kwargs))


def _closed(result):
    """Closes a coroutine a framework handed back, so the case leaves nothing unawaited."""
    if asyncio.iscoroutine(result):
        result.close()
        return True
    return False


# --- click ---


def case_click_command_coroutine_function():
    done = []

    @click.command()
    @click.option("--count", default=1)
    async def sync_db(count):  # expect: APM110 silent: click calls sync_db and drops its coroutine; the command exits 0 having done nothing
        done.append(count)

    result = CliRunner().invoke(sync_db, ["--count", "3"])
    assert result.exit_code == 0 and done == []


def case_click_group_subcommand_coroutine_function():
    done = []

    @click.group()
    def tools():
        pass

    @tools.command()
    async def vacuum():  # expect: APM110 silent: the subcommand's coroutine is dropped; exit 0, nothing done
        done.append("vacuum")

    result = CliRunner().invoke(tools, ["vacuum"])
    assert result.exit_code == 0 and done == []


def case_click_command_sync_function_running_the_coroutine():
    done = []

    async def work(count):
        await asyncio.sleep(0)
        done.append(count)

    @click.command()
    @click.option("--count", default=1)
    def sync_db(count):
        asyncio.run(work(count))

    result = CliRunner().invoke(sync_db, ["--count", "3"])
    assert result.exit_code == 0 and done == [3], result.output


def case_click_command_with_an_awaiting_command_class():
    done = []

    @click.command(cls=AsyncCommand)
    async def sync_db():
        await asyncio.sleep(0)
        done.append("synced")

    result = CliRunner().invoke(sync_db, [])
    assert result.exit_code == 0 and done == ["synced"], result.output


def case_click_command_under_a_decorator_that_runs_it():
    done = []

    @click.command()
    @run_coroutine
    async def sync_db():
        await asyncio.sleep(0)
        done.append("synced")

    result = CliRunner().invoke(sync_db, [])
    assert result.exit_code == 0 and done == ["synced"], result.output


# --- typer ---


def case_typer_command_coroutine_function():
    done = []
    app = typer.Typer()

    @app.command()
    async def export(name: str = "all"):  # expect: APM110 silent: typer calls export and drops its coroutine; exit 0, nothing exported
        done.append(name)

    @app.command()
    def status():
        pass

    result = TyperRunner().invoke(app, ["export"])
    assert result.exit_code == 0 and done == [], result.output


def case_typer_command_sync_function():
    done = []
    app = typer.Typer()

    @app.command()
    def export(name: str = "all"):
        done.append(name)

    @app.command()
    def status():
        pass

    result = TyperRunner().invoke(app, ["export"])
    assert result.exit_code == 0 and done == ["all"], result.output


# --- celery ---


def case_celery_task_coroutine_function():
    done = []

    @worker.task
    async def reindex(n):  # expect: APM110 silent: the worker calls reindex and stores its coroutine as the result; nothing is reindexed
        done.append(n)

    assert _closed(reindex.delay(5).result) and done == []


def case_celery_shared_task_coroutine_function():
    done = []

    @shared_task(bind=True)
    async def purge(self):  # expect: APM110 silent: the task's result is an unawaited coroutine; nothing is purged
        done.append("purged")

    assert _closed(purge.delay().result) and done == []


def case_celery_task_with_an_awaiting_base():
    done = []

    @worker.task(base=AsyncTask)
    async def reindex(n):
        await asyncio.sleep(0)
        done.append(n)

    assert reindex.delay(5).result is None and done == [5]


def case_celery_task_sync_function():
    @worker.task
    def reindex(n):
        return n * 2

    assert reindex.delay(5).result == 10
