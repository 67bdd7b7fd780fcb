"""Drive the built-in viewer in a real browser (Debian chromium through Playwright).

The OpenTelemetry Python SDK sends a trace with a known id, a counter over two attribute sets
and a few log lines to a running `otlp-spool serve` over OTLP/gRPC; then Chromium opens every
viewer page, checks that it shows what was sent, that no JavaScript error or console error
happened, and saves a full-page screenshot of each page.

    python ui_browser.py --otlp http://127.0.0.1:4317 --ui http://127.0.0.1:4318 --screenshots DIR

Prints one JSON object: the pages visited, their screenshots and the trace id.
"""

import argparse
import json
import logging
import os
import shutil
import sys
import time
import urllib.request

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def send(otlp):
    """Sends the telemetry; returns what the pages must show."""
    resource = Resource.create({"service.name": "shop-frontend", "deployment.environment": "ui-test"})
    kw = dict(endpoint=otlp, insecure=True, timeout=10)

    tp = TracerProvider(resource=resource)
    tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(**kw)))
    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(**kw)))
    log = logging.getLogger("shop")
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=lp))

    tracer = tp.get_tracer("shop.checkout", "4.2.0")
    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.route", "/checkout")
        root.set_attribute("cart.items", 3)
        trace_id = format(root.get_span_context().trace_id, "032x")
        log.info("checkout started for cart 881")
        with tracer.start_as_current_span("reserve stock", kind=SpanKind.CLIENT) as s:
            s.add_event("stock reserved", {"sku": "BOOK-7"})
            time.sleep(0.02)
        with tracer.start_as_current_span("charge card", kind=SpanKind.CLIENT) as s:
            s.set_attribute("payment.provider", "acme-pay")
            time.sleep(0.03)
            s.set_status(Status(StatusCode.ERROR, "card declined"))
            log.error("payment declined by acme-pay")
        time.sleep(0.01)
    log.warning("retry scheduled for cart 881")

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(**kw), export_interval_millis=3_600_000)
    mp = MeterProvider(resource=resource, metric_readers=[reader])
    orders = mp.get_meter("shop.meter").create_counter("orders.placed", unit="1")
    for step in range(4):
        orders.add(2 + step, {"region": "eu"})
        orders.add(1, {"region": "us"})
        reader.force_flush()
        time.sleep(0.3)
    mp.shutdown()
    tp.shutdown()
    lp.shutdown()
    return {
        "trace_id": trace_id,
        "spans": ["POST /checkout", "reserve stock", "charge card"],
        "logs": ["checkout started for cart 881", "payment declined by acme-pay", "retry scheduled for cart 881"],
        "metric": "orders.placed",
    }


def wait_visible(ui, path, text, timeout=30):
    """Polls a page until it shows `text` (the lanes reach the files within a second)."""
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(ui + path, timeout=10) as r:
                if text in r.read().decode():
                    return
        except OSError:
            pass
        if time.time() > deadline:
            raise SystemExit(f"{path} never showed {text!r}")
        time.sleep(0.2)


def check_pages(ui, sent, shots):
    from playwright.sync_api import sync_playwright

    errors = []
    visited = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
        page.on("response", lambda r: r.status >= 400 and errors.append(f"HTTP {r.status}: {r.url}"))

        def shot(name):
            path = os.path.join(shots, f"{name}.png")
            page.screenshot(path=path, full_page=True)
            visited.append({"page": name, "url": page.url, "screenshot": path})

        # Recent traces: the root span, its service, the error count; then its waterfall.
        page.goto(ui + "/ui")
        row = page.locator("table.traces tbody tr", has_text="POST /checkout")
        assert row.count() == 1, page.content()
        assert "shop-frontend" in row.inner_text()
        assert row.locator("span.err").inner_text() == "1"
        page.get_by_label("Service").select_option("shop-frontend")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_load_state()
        assert "service=shop-frontend" in page.url
        shot("traces")

        page.get_by_role("link", name="POST /checkout").click()
        page.wait_for_load_state()
        assert page.url.endswith("/ui/traces/" + sent["trace_id"]), page.url
        waterfall = page.locator("table.waterfall")
        for name in sent["spans"]:
            assert waterfall.get_by_role("link", name=name).count() == 1, name
        details = page.locator("section.span", has_text="charge card")
        assert "card declined" in details.inner_text()
        assert "acme-pay" in details.inner_text()
        assert "stock reserved" in page.locator("section.span", has_text="reserve stock").inner_text()
        shot("trace")

        # Metrics: the catalog, then the chart with one line per region.
        page.goto(ui + "/ui/metrics")
        page.get_by_role("link", name=sent["metric"]).click()
        page.wait_for_load_state()
        chart = page.locator("figure.chart svg")
        assert chart.get_attribute("role") == "img"
        assert chart.locator("polyline").count() == 2, page.content()
        legend = page.locator("ul.legend").inner_text()
        assert "region=eu" in legend and "region=us" in legend, legend
        shot("metrics")

        # Logs: the lines sent, a severity filter, the link to the trace.
        page.goto(ui + "/ui/logs")
        table = page.locator("table.logs").inner_text()
        for line in sent["logs"]:
            assert line in table, (line, table)
        shot("logs")
        page.get_by_label("Severity").select_option("error")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_load_state()
        filtered = page.locator("table.logs").inner_text()
        assert "payment declined by acme-pay" in filtered and "retry scheduled" not in filtered, filtered
        shot("logs-errors")
        page.locator("table.logs").get_by_role("link", name="trace").first.click()
        page.wait_for_load_state()
        assert sent["trace_id"] in page.url, page.url
        browser.close()
    return visited, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--otlp", required=True)
    ap.add_argument("--ui", required=True)
    ap.add_argument("--screenshots", required=True)
    args = ap.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    sent = send(args.otlp)
    wait_visible(args.ui, "/ui/traces/" + sent["trace_id"], "charge card")
    wait_visible(args.ui, "/ui/metrics?name=orders.placed", "region=us")
    wait_visible(args.ui, "/ui/logs", "retry scheduled for cart 881")
    visited, errors = check_pages(args.ui, sent, args.screenshots)
    json.dump({"trace_id": sent["trace_id"], "pages": visited, "errors": errors}, sys.stdout)
    sys.stdout.write("\n")
    if errors:
        raise SystemExit("browser errors: " + "; ".join(errors))


if __name__ == "__main__":
    main()
