"""``capigate worker``: the delivery worker alone, for deployments that scale it separately.

Run as many as you like against one PostgreSQL: leases (``FOR UPDATE SKIP LOCKED``) keep them
from sending the same event twice, and a worker that dies leaves its batches to the others
once their leases run out. Set ``worker.enabled: false`` for the ``capigate serve`` processes
if only these workers should deliver.
"""

from __future__ import annotations

import asyncio
import signal

import click

from capigate.cli.options import gateway_errors, load_settings, settings_options
from capigate.settings import Settings


@click.command("worker")
@settings_options
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def worker(db: str | None, config: str | None, once: bool) -> None:
    """Deliver the outbox to Meta until stopped (SIGTERM or Ctrl-C finish the batches in flight).

    Batching, leases and retries are set in the worker: section (CAPIGATE_WORKER_* variables).
    In sandbox mode (no Meta access token) set CAPIGATE_GRAPH_URL to a `capigate emulator`.
    """
    with gateway_errors():
        settings = load_settings(config, {"db": db})
        asyncio.run(_run(settings, once=once))


async def _run(settings: Settings, *, once: bool) -> None:
    from capigate.ingest import Ingestor
    from capigate.plan.load import default_plan, load_file
    from capigate.store import open_store
    from capigate.worker.loop import DeliveryWorker
    from capigate.worker.service import delivery_clients

    store = open_store(settings.db_url)
    try:
        await store.migrate()
        async with delivery_clients(settings) as clients:
            plan = load_file(settings.plan_path) if settings.plan_path else default_plan()
            lifecycle = Ingestor(plan=plan, store=store, settings=settings).lifecycle
            delivery = DeliveryWorker(
                store, clients, settings=settings.worker, lifecycle=lifecycle
            )  # the lifecycle's timeouts (Drop_Off) run in the worker too
            if once:
                click.echo(_banner(settings, delivery.worker_id), err=True)
                while await delivery.run_once():
                    pass
                return
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, delivery.stop)
            # After the handlers: once the banner shows, a SIGTERM stops the worker cleanly.
            click.echo(_banner(settings, delivery.worker_id), err=True)
            await delivery.run()
    finally:
        await store.close()


def _banner(settings: Settings, worker_id: str) -> str:
    pixels = ", ".join(p.id for p in settings.pixels)
    target = settings.graph_url + (" (sandbox: emulator)" if settings.sandbox else "")
    return f"capigate worker {worker_id}: pixels {pixels} -> {target}"
