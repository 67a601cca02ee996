"""The ``flexsim`` command: thin Click commands over plain library functions."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click
from dotenv import load_dotenv

from flexsim import __version__, options
from flexsim.errors import FlexsimError
from flexsim.validation import SCHEMA_NAMES, schema_text

if TYPE_CHECKING:
    from flexsim.plan import RunReport


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a FlexsimError into a one-line ``Error: …`` and its exit code (1, or 2 for bad config).

    With ``flexsim -v`` the traceback is logged too.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlexsimError as exc:
            logging.getLogger("flexsim").debug("command failed", exc_info=True)
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from exc

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="flexsim")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details, including tracebacks.")
def cli(verbose: bool) -> None:
    """Make a Twilio Flex contact center look alive.

    Generate a simulation config, deploy it to a TaskRouter workspace (real or the
    local emulator), then run simulated agents and customers against it.
    Settings come from options, then environment variables, then a .env file in
    the working directory.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load_dotenv(Path.cwd() / ".env", override=False)


@cli.command()
@options.domaindir_option
@options.cfgdir_option
@click.option("--locale", default="en-us", show_default=True, metavar="NAME|PATH.json",
              help="Locale defaults: a name such as en-us or es-es, looked up in --domaindir first and then "
                   "among the built-in ones, or the path of a JSON file.")
@options.seed_option
@reports_errors
def genconfig(domaindir: str, cfgdir: str, locale: str, seed: int | None) -> None:
    """Generate the config files (agents, queues, workflow) from the domain.

    Reads the locale defaults and DOMAINDIR/domain.json if present, validates both,
    and writes metadata.json, workers.json, queues.json and workflow.json into CFGDIR,
    all or none.

    Example: flexsim genconfig --domaindir . --seed 42
    """
    from flexsim.genconfig import generate_config, summary

    rng, used = options.make_rng(seed)
    result = generate_config(domaindir, cfgdir, rng, used, locale=locale)
    click.echo(summary(result, seed_given=seed is not None))


@cli.command()
@click.option("--config", "name", type=click.Choice(SCHEMA_NAMES),
              default="domain", show_default=True,
              help="Which schema: the domain file, or one of the config files genconfig writes.")
def schema(name: str) -> None:
    """Print a JSON Schema (draft 2020-12), e.g. for an editor to check domain.json.

    Example: flexsim schema > domain.schema.json
    """
    click.echo(schema_text(name), nl=False)


@cli.command()
@options.cfgdir_option
@options.twilio_options
@click.option("--timeLim", "--time-limit", "time_limit", type=options.Timespan(), default=3600.0,
              show_default=True, help="How long to run, in wall-clock seconds whatever --speed is (90, 10m, 1h).")
@options.seed_option
@options.speed_option
@click.option("--locale", default=None, metavar="LOCALE",
              help="Faker locale for customer names, e.g. es-es [default: the config's].")
@click.option("--agentsim-url", envvar="AGENTSIM_URL", default="http://127.0.0.1:3000", show_default=True,
              metavar="URL", help="agentsim's address, to learn which tasks its agents took so they get no "
                                  "cancel; '' turns this off [env: $AGENTSIM_URL].")
@reports_errors
def custsim(cfgdir: str, twilio: options.TwilioSettings, time_limit: float, seed: int | None,
            speed: float, locale: str | None, agentsim_url: str) -> None:
    """Create tasks as simulated customers arrive, and abandon those kept waiting too long.

    Stops after --timeLim or on Ctrl-C/SIGTERM and prints how many tasks were created,
    abandoned and failed.

    Example: flexsim custsim --timeLim 10m --speed 10 --seed 7
    """
    import threading

    from flexsim.config import load_config
    from flexsim.customers import run_custsim
    from flexsim.stopping import stop_on_signals
    from flexsim.taskrouter import TaskRouter

    config = load_config(cfgdir)
    rng, used = options.make_rng(seed)
    with TaskRouter(twilio) as tr, stop_on_signals(threading.Event()) as stop:
        click.echo(f"custsim: seed {used}; running {time_limit:g} s at speed {speed:g} (Ctrl-C stops)")
        sim = run_custsim(config, tr, time_limit=time_limit, rng=rng, speed=speed, locale=locale, stop=stop,
                          agentsim_url=agentsim_url or None)
    click.echo(sim.summary.text())


@cli.command()
@options.twilio_options
@click.option("--interval", type=float, default=2.0, show_default=True, callback=options.positive_float,
              help="Seconds between refreshes (statistics are cached for this long).")
@click.option("--once", is_flag=True, help="Print one plain snapshot and exit.")
@reports_errors
def status(twilio: options.TwilioSettings, interval: float, once: bool) -> None:
    """Show agents by activity and per-queue tasks and agents, live, from RealTimeStatistics.

    Without a terminal it prints one plain line per refresh instead of the live view.

    Example: flexsim status --interval 5
    """
    import threading

    from rich.console import Console

    from flexsim.stopping import stop_on_signals
    from flexsim.status import run_status, status_once
    from flexsim.taskrouter import TaskRouter

    with TaskRouter(twilio) as tr:
        if once:
            click.echo(status_once(tr))
            return
        with stop_on_signals(threading.Event()) as stop:
            run_status(tr, Console(), stop, interval=interval)


def _sid_format(prefix: str) -> Callable[[Any, Any, str | None], str | None]:
    """Click callback: refuse a SID that is not ``prefix`` plus 32 hex digits."""

    def check(ctx: Any, param: Any, value: str | None) -> str | None:
        if value is not None and not options.is_sid(value, prefix):
            raise click.BadParameter(f"must be {prefix} followed by 32 hex digits")
        return value

    return check


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8090, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--account-sid", metavar="AC…", callback=_sid_format("AC"),
              help="Account SID to accept (default: generated).")
@click.option("--auth-token", metavar="TOKEN", help="Auth Token to accept (default: random).")
@click.option("--workspace-sid", metavar="WS…", callback=_sid_format("WS"),
              help="Workspace SID (default: generated).")
@click.option("--api-key", metavar="SK…", callback=_sid_format("SK"), help="Also accept this API Key SID ...")
@click.option("--api-secret", metavar="SECRET", help="... with this secret.")
@click.option("--latency", type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="MS",
              help="Delay every response by this many milliseconds.")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True, metavar="P",
              help="Answer this share of requests with 429/20429 and Retry-After, without executing them.")
@click.option("--server-error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True, metavar="P",
              help="Answer this share of requests with 500.")
@click.option("--filtered-list-rps", type=click.FloatRange(min=0), default=3.0, show_default=True,
              help="Requests per second allowed on each expression-filtered list endpoint (0 = no limit).")
@click.option("--purge-after", type=options.Timespan(), default=300.0, show_default=True, metavar="DURATION",
              help="How long completed and canceled tasks stay before they are deleted (90, 5m, 1h).")
@options.seed_option
@click.option("--events-file", type=click.Path(dir_okay=False), help="Append every event here as a JSON line.")
@reports_errors
def emulator(host: str, port: int, account_sid: str | None, auth_token: str | None, workspace_sid: str | None,
             api_key: str | None, api_secret: str | None, latency: float, error_rate: float,
             server_error_rate: float, filtered_list_rps: float, purge_after: float, seed: int | None,
             events_file: str | None) -> None:
    """Run a local TaskRouter emulator that the twilio SDK (and flexsim) can use instead of Twilio.

    Prints the lines to paste into .env, then serves until Ctrl-C or SIGTERM.

    Example: flexsim emulator --port 8090 --seed 7
    """
    import gc
    import threading

    from flexsim.emulator.server import EmulatorServer, env_lines
    from flexsim.stopping import stop_on_signals

    if bool(api_key) != bool(api_secret):
        raise click.UsageError("--api-key and --api-secret go together")
    srv = EmulatorServer(host, port, account_sid=account_sid, auth_token=auth_token, workspace_sid=workspace_sid,
                         api_key=api_key, api_secret=api_secret, latency_ms=latency, error_rate=error_rate,
                         server_error_rate=server_error_rate, seed=seed, events_file=events_file,
                         filtered_list_rps=filtered_list_rps, purge_after=purge_after)
    try:
        srv.start()
    except OSError as exc:
        srv.stop()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; try another --port") from exc
    # Move the start-up objects (Flask, the SDK's modules, the engine) out of the collected
    # generations: long full collections were the largest source of slow responses measured.
    gc.freeze()
    try:
        # Handlers first: a caller may send SIGTERM as soon as it has read the .env lines.
        with stop_on_signals(threading.Event()) as stop:
            click.echo(f"TaskRouter emulator listening on {srv.url} (Ctrl-C stops it). Paste into .env:")
            for line in env_lines(srv):
                click.echo(line)
            while not stop.wait(0.5):
                pass
    finally:
        srv.stop()
    count = len(srv.requests)
    click.echo(f"Emulator stopped after {count} request{'' if count == 1 else 's'}.")


@cli.command()
@options.cfgdir_option
@options.twilio_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (ngrok connects to localhost; 0.0.0.0 exposes all interfaces).")
@click.option("--port", type=click.IntRange(0, 65535), default=3000, show_default=True, envvar="AGENTSIM_PORT",
              show_envvar=True, help="Port for the assignment callback (0 picks a free one).")
@click.option("--public-url", envvar="ASSIGN_URL", show_envvar=True, metavar="URL",
              help="The URL TaskRouter calls, e.g. https://abc.ngrok.app/reservation; signatures are "
                   "checked against it [default: the URL as received].")
@options.seed_option
@options.speed_option
@click.option("--skip-signature-check", is_flag=True,
              help="Accept callbacks without a valid X-Twilio-Signature (needed with API-key credentials).")
@click.option("--stay-online", is_flag=True, help="On exit, leave agents in their activity and tasks in hand.")
@reports_errors
def agentsim(cfgdir: str, twilio: options.TwilioSettings, host: str, port: int, public_url: str | None,
             seed: int | None, speed: float, skip_signature_check: bool, stay_online: bool) -> None:
    """Run the simulated agents: answer assignment callbacks and handle the tasks.

    Signs the flexsim workers in, serves POST /reservation and GET / (health) until
    Ctrl-C or SIGTERM, then signs them out (Offline) unless --stay-online.

    Example: flexsim agentsim --port 3000 --public-url https://abc.ngrok.app/reservation
    """
    from flexsim.agentsim_server import AgentSimSettings, run_agentsim
    from flexsim.config import load_config

    config = load_config(cfgdir)
    used = seed if seed is not None else options.make_rng(None)[1]
    if skip_signature_check:
        click.secho("WARNING: --skip-signature-check: anyone who can reach this server can drive the "
                    "simulated agents.", fg="red", err=True)
    click.echo(f"agentsim: seed {used}; speed {speed:g}; listening on {host}:{port} (Ctrl-C stops)")
    settings = AgentSimSettings(host=host, port=port, public_url=public_url, seed=used, speed=speed,
                                skip_signature_check=skip_signature_check, stay_online=stay_online)
    summary = run_agentsim(config, twilio, settings)
    click.echo(f"agentsim stopped: {summary.get('tasks_handled', 0)} tasks handled, "
               f"{summary.get('tasks_in_progress', 0)} left in progress, "
               f"{summary.get('api_failures', 0)} API failures.")


def _print_report(report: RunReport, dry_run: bool) -> None:
    """Print a deploy or cleansim report: warnings on stderr, the plan when dry, then the summary."""
    for warning in report.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    if dry_run:
        click.echo("\n".join(report.plan.describe()))
    click.echo("\n".join(report.summary()))


def _progressbar(label: str, total: int) -> Any:
    """A ``plan.ProgressFactory`` drawing a click progress bar on stderr (hidden when not a terminal)."""
    import contextlib
    import sys

    @contextlib.contextmanager
    def bar() -> Any:
        with click.progressbar(length=total, label=label.ljust(24), file=sys.stderr) as progress:
            yield progress.update

    return bar()


@cli.command()
@options.cfgdir_option
@options.twilio_options
@click.option("--assign-url", "--assignURL", "assign_url", envvar="ASSIGN_URL", metavar="URL",
              help="Assignment callback for the workflow: agentsim's public /reservation URL [env: $ASSIGN_URL].")
@click.option("--create-missing", is_flag=True,
              help="Create missing TaskChannels, Activities and the Everyone queue instead of stopping.")
@click.option("--adopt", is_flag=True,
              help="Take over same-named Workers, TaskQueues and the Workflow that flexsim did not create.")
@click.option("--reservation-timeout", type=click.IntRange(1, 86400), default=120, show_default=True,
              help="The workflow's TaskReservationTimeout, in seconds.")
@click.option("--dry-run", is_flag=True, help="Print the plan (what would be created, updated, removed); write nothing.")
@reports_errors
def deploy(cfgdir: str, twilio: options.TwilioSettings, assign_url: str | None, create_missing: bool,
           adopt: bool, reservation_timeout: int, dry_run: bool) -> None:
    """Create or update the Workers, TaskQueues and Workflow that the config describes.

    Only differences are written (a second run writes nothing); the workflow keeps its SID.

    Example: flexsim deploy --assignURL https://abc.ngrok.app/reservation
    """
    from flexsim.config import load_config
    from flexsim.deploy import DeployOptions, deploy_config
    from flexsim.taskrouter import TaskRouter

    config = load_config(cfgdir)
    choices = DeployOptions(assign_url=assign_url or None, create_missing=create_missing, adopt=adopt,
                            dry_run=dry_run, reservation_timeout=reservation_timeout)
    with TaskRouter(twilio) as tr:
        click.echo(f"deploy: {tr.describe()}", err=True)
        report = deploy_config(config, tr, choices, progress=_progressbar)
    _print_report(report, dry_run)


@cli.command()
@options.cfgdir_option
@options.twilio_options
@click.option("--delete-workers", "--dletWorkers", "delete_workers", is_flag=True,
              help="Also delete the flexsim workers (after signing them out).")
@click.option("--all", "remove_all", is_flag=True,
              help="Also delete the flexsim workflow, then the flexsim queues.")
@click.option("--dry-run", is_flag=True, help="Print what would be cleaned; write nothing.")
@reports_errors
def cleansim(cfgdir: str, twilio: options.TwilioSettings, delete_workers: bool, remove_all: bool,
             dry_run: bool) -> None:
    """End flexsim tasks and sign flexsim workers out; optionally remove what deploy made.

    Touches only flexsim-owned resources, found by their markers, so the config may have
    changed since deploy (--cfgdir is accepted for compatibility and not read).

    Example: flexsim cleansim --dletWorkers --all
    """
    from flexsim.cleanup import CleanupOptions, clean_workspace
    from flexsim.taskrouter import TaskRouter

    choices = CleanupOptions(delete_workers=delete_workers, remove_all=remove_all, dry_run=dry_run)
    with TaskRouter(twilio) as tr:
        click.echo(f"cleansim: {tr.describe()}", err=True)
        report = clean_workspace(tr, choices, progress=_progressbar)
    _print_report(report, dry_run)


@cli.command()
@options.domaindir_option
@click.option("--cfgdir", default=None, type=click.Path(file_okay=False),
              help="Where genconfig writes the config [default: a temporary folder, removed afterwards].")
@click.option("--duration", type=options.Timespan(), default=60.0, show_default=True,
              help="How long customers arrive, in wall-clock seconds (90, 2m).")
@click.option("--speed", type=float, default=10.0, show_default=True, callback=options.positive_float,
              help="Simulated seconds per wall-clock second, for agents and customers.")
@click.option("--agents", type=click.IntRange(1, 15000), default=None,
              help="Number of agents [default: the domain's agentCnt].")
@options.seed_option
@click.option("--locale", default="en-us", show_default=True, metavar="NAME|PATH.json",
              help="Locale defaults for genconfig.")
@click.option("--cleanup/--no-cleanup", default=True, show_default=True,
              help="Run cleansim at the end (the emulator is discarded anyway).")
@click.option("--interval", type=float, default=2.0, show_default=True, callback=options.positive_float,
              help="Seconds between status refreshes.")
@click.pass_context
@reports_errors
def demo(ctx: click.Context, domaindir: str, cfgdir: str | None, duration: float, speed: float,
         agents: int | None, seed: int | None, locale: str, cleanup: bool, interval: float) -> None:
    """Run a whole simulation on the local TaskRouter emulator: no Twilio account needed.

    Starts the emulator, generates and deploys a config, runs agentsim and custsim for
    --duration while showing the workspace live, then prints a KPI summary.

    Example: flexsim demo --duration 60 --speed 10 --seed 7
    """
    import threading

    from rich.console import Console

    from flexsim.stopping import stop_on_signals
    from flexsim.demo import DemoSettings, run_demo

    if not ctx.find_root().params.get("verbose"):
        logging.getLogger().setLevel(logging.WARNING)  # keep INFO chatter out of the live view
    settings = DemoSettings(domaindir=domaindir, cfgdir=cfgdir, duration=duration, speed=speed, agents=agents,
                            seed=seed, locale=locale, clean=cleanup, interval=interval)
    with stop_on_signals(threading.Event()) as stop:
        result = run_demo(settings, Console(), stop)
    click.echo("\n".join(result.lines()))
