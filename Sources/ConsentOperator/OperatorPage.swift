import HTTPTypes
import Hummingbird
import NIOCore

/// The operator page: rejections with filters, counts by reason, a chart over time, deliveries
/// per recipient system (R9), the detail of one rejection (reason in English and Norwegian) and redrive buttons.
///
/// Static files compiled into the binary: nothing is fetched from elsewhere (works offline),
/// and the page itself holds no data. Its script reads the API with the bearer token the
/// operator pastes (or passes as `#token=…`, a fragment that never reaches a server or a log)
/// and keeps it in the tab's session storage. The content security policy allows only this
/// origin's script and style, and the script writes data as text, never as markup.
enum OperatorPage {
    static func register(on router: Router<OperatorRequestContext>) {
        router.get("/") { _, _ in
            Response(status: .seeOther, headers: [.location: "/operator"])
        }
        router.get("/operator") { _, _ in Self.file(html, type: "text/html; charset=utf-8") }
        router.get("/operator/app.js") { _, _ in Self.file(script, type: "text/javascript; charset=utf-8") }
        router.get("/operator/app.css") { _, _ in Self.file(style, type: "text/css; charset=utf-8") }
    }

    private static func file(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-cache",
                .contentSecurityPolicy:
                    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>ConsentBridge · rejected messages</title>
        <link rel="stylesheet" href="/operator/app.css">
        <script src="/operator/app.js" defer></script>
        </head>
        <body>
        <header>
          <h1>ConsentBridge <span>rejected messages</span></h1>
          <p class="note">Metadata only: ids, types, reasons and times. Content never leaves the bridge's sealed store.</p>
        </header>
        <section id="login" hidden>
          <form id="token-form">
            <label for="token">Bearer token (viewer or operator)</label>
            <input id="token" type="password" autocomplete="off" required minlength="16">
            <button type="submit">Open</button>
          </form>
          <p id="login-error" class="error" role="alert"></p>
        </section>
        <main id="app" hidden>
          <form id="filters">
            <label>Reason <select id="filter-reason"><option value="">any</option></select></label>
            <label>Direction <select id="filter-direction"><option value="">any</option>
              <option value="health-to-nav">health → NAV</option><option value="nav-to-health">NAV → health</option></select></label>
            <label>Type <input id="filter-type" placeholder="no.ips.health.referral.v1"></label>
            <label>From <input id="filter-from" type="datetime-local"></label>
            <label>Until <input id="filter-until" type="datetime-local"></label>
            <label>Chart per <select id="filter-bucket"><option selected>minute</option><option>hour</option><option>day</option></select></label>
            <button id="apply" type="submit">Apply</button>
            <label class="auto"><input id="auto-refresh" type="checkbox" checked> refresh every 5 s</label>
          </form>
          <p id="status" role="status"></p>
          <section class="overview">
            <div>
              <h2>By reason</h2>
              <table id="counts"><thead><tr><th>reason</th><th>count</th></tr></thead><tbody></tbody></table>
            </div>
            <div>
              <h2>Over time</h2>
              <div id="chart" aria-label="rejections over time, by reason"></div>
              <div id="legend"></div>
            </div>
          </section>
          <section>
            <h2>Deliveries by destination</h2>
            <table id="deliveries">
              <thead><tr><th>system</th><th>topic</th><th>published identified</th><th>published anonymous</th><th>withheld</th><th>pending</th><th>failed</th></tr></thead>
              <tbody></tbody>
            </table>
          </section>
          <section>
            <h2>Rejections <span id="total"></span></h2>
            <div class="actions">
              <button id="redrive-selected" type="button" disabled>Redrive selected</button>
              <button id="prev" type="button">← newer</button>
              <button id="next" type="button">older →</button>
            </div>
            <table id="rejections">
              <thead><tr><th></th><th>received</th><th>message id</th><th>type</th><th>direction</th><th>reason</th><th>redriven</th></tr></thead>
              <tbody></tbody>
            </table>
          </section>
          <aside id="detail" hidden>
            <h2>Rejection <code id="detail-id"></code></h2>
            <dl id="detail-fields"></dl>
            <p><strong>Reason</strong> <span id="detail-reason-en"></span></p>
            <p lang="nb"><strong>Årsak</strong> <span id="detail-reason-nb"></span></p>
            <button id="detail-redrive" type="button" hidden>Redrive against the current consent</button>
            <button id="detail-close" type="button">Close</button>
            <p id="detail-result" role="status"></p>
          </aside>
        </main>
        </body>
        </html>

        """

    static let style = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
        header { background: #123; color: #fff; padding: 12px 20px; }
        header h1 { margin: 0; font-size: 20px; } header h1 span { font-weight: normal; opacity: .8; }
        header .note { margin: 4px 0 0; opacity: .8; font-size: 12px; }
        main, #login { padding: 16px 20px; }
        form#filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; background: #fff; padding: 10px; border: 1px solid #dde; }
        form#filters label { display: flex; flex-direction: column; font-size: 12px; }
        form#filters label.auto { flex-direction: row; gap: 4px; align-items: center; }
        .overview { display: grid; grid-template-columns: minmax(220px, 1fr) 3fr; gap: 20px; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e6ea; font-size: 13px; }
        tbody tr { cursor: pointer; } tbody tr:hover { background: #eef3ff; }
        #chart svg { background: #fff; border: 1px solid #dde; width: 100%; height: 220px; }
        #legend span { display: inline-block; margin-right: 10px; font-size: 12px; }
        #legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
        .actions { display: flex; gap: 8px; margin: 8px 0; }
        #detail { position: fixed; right: 0; top: 0; bottom: 0; width: 420px; background: #fff; border-left: 2px solid #123; padding: 16px; overflow: auto; box-shadow: -4px 0 12px rgba(0,0,0,.1); }
        #detail dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; } #detail dt { font-weight: bold; }
        .error { color: #a00; } code { font-size: 12px; }

        """

    static let script = """
        "use strict";
        const state = { token: null, offset: 0, limit: 50, reasons: {}, selected: new Set(), timer: null };
        const $ = (id) => document.getElementById(id);
        const colours = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e", "#316395"];

        function el(tag, text, attributes) {
          const node = document.createElement(tag);
          if (text !== undefined && text !== null) node.textContent = String(text);
          for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
          return node;
        }

        async function api(path, options) {
          const response = await fetch("/api/" + path, Object.assign({ headers: { "Authorization": "Bearer " + state.token, "Content-Type": "application/json" } }, options || {}));
          const body = await response.json().catch(() => ({}));
          if (response.status === 401) { showLogin("That token is not accepted."); throw new Error("unauthorized"); }
          if (!response.ok) throw new Error((body.error && body.error.message) || ("HTTP " + response.status));
          return body;
        }

        function showLogin(message) {
          sessionStorage.removeItem("consent-bridge-token");
          state.token = null;
          $("app").hidden = true; $("login").hidden = false;
          $("login-error").textContent = message || "";
        }

        function filterQuery() {
          const parameters = new URLSearchParams();
          const add = (name, value) => { if (value) parameters.set(name, value); };
          add("reason", $("filter-reason").value);
          add("direction", $("filter-direction").value);
          add("type", $("filter-type").value.trim());
          const time = (id) => $(id).value ? new Date($(id).value).toISOString() : "";
          add("from", time("filter-from"));
          add("until", time("filter-until"));
          return parameters;
        }

        function colour(code) {
          const codes = Object.keys(state.reasons).sort();
          const index = codes.indexOf(code);
          return colours[(index < 0 ? codes.length : index) % colours.length];
        }

        async function refresh() {
          try {
            const parameters = filterQuery();
            const counts = await api("rejections/counts?" + parameters + "&bucket=" + $("filter-bucket").value);
            renderCounts(counts);
            const period = new URLSearchParams();
            for (const name of ["from", "until"]) if (parameters.get(name)) period.set(name, parameters.get(name));
            renderDeliveries(await api("deliveries/counts?" + period));
            parameters.set("limit", state.limit); parameters.set("offset", state.offset);
            const page = await api("rejections?" + parameters);
            renderList(page);
            $("status").textContent = "Updated " + new Date().toLocaleTimeString();
          } catch (error) {
            if (error.message !== "unauthorized") $("status").textContent = "Could not load: " + error.message;
          }
        }

        function renderDeliveries(deliveries) {
          const body = $("deliveries").querySelector("tbody");
          body.replaceChildren();
          const sum = (perForm) => perForm.identified + perForm.anonymous;
          for (const destination of deliveries.destinations) {
            const row = el("tr");
            row.append(el("td", destination.system), el("td", destination.topic),
              el("td", destination.published.identified), el("td", destination.published.anonymous),
              el("td", sum(destination.withheld)), el("td", sum(destination.pending)), el("td", sum(destination.failed)));
            body.append(row);
          }
        }

        function renderCounts(counts) {
          const body = $("counts").querySelector("tbody");
          body.replaceChildren();
          const totals = Object.entries(counts.totals).sort((a, b) => b[1] - a[1]);
          for (const [code, count] of totals) {
            const row = el("tr", null, { "data-reason": code });
            const name = el("td");
            name.append(el("i", null, { style: "" }), document.createTextNode(code));
            name.firstChild.className = "swatch";
            row.append(name, el("td", count));
            row.addEventListener("click", () => { $("filter-reason").value = code; state.offset = 0; refresh(); });
            body.append(row);
          }
          renderChart(counts.counts);
        }

        function renderChart(counts) {
          const svgNS = "http://www.w3.org/2000/svg";
          const buckets = [...new Set(counts.map((c) => c.bucket))].sort();
          const width = 800, height = 220, pad = 28;
          const svg = document.createElementNS(svgNS, "svg");
          svg.setAttribute("viewBox", "0 0 " + width + " " + height);
          svg.setAttribute("role", "img");
          const perBucket = buckets.map((b) => counts.filter((c) => c.bucket === b));
          const max = Math.max(1, ...perBucket.map((list) => list.reduce((sum, c) => sum + c.count, 0)));
          const barWidth = Math.max(2, (width - 2 * pad) / Math.max(1, buckets.length) - 2);
          perBucket.forEach((list, index) => {
            let y = height - pad;
            const x = pad + index * (barWidth + 2);
            for (const entry of list) {
              const h = (height - 2 * pad) * entry.count / max;
              y -= h;
              const rect = document.createElementNS(svgNS, "rect");
              rect.setAttribute("x", x.toFixed(1)); rect.setAttribute("y", y.toFixed(1));
              rect.setAttribute("width", barWidth.toFixed(1)); rect.setAttribute("height", h.toFixed(1));
              rect.setAttribute("fill", colour(entry.reasonCode));
              rect.setAttribute("data-reason", entry.reasonCode);
              const title = document.createElementNS(svgNS, "title");
              title.textContent = buckets[index] + " · " + entry.reasonCode + ": " + entry.count;
              rect.append(title);
              svg.append(rect);
            }
          });
          const axis = document.createElementNS(svgNS, "text");
          axis.setAttribute("x", pad); axis.setAttribute("y", 16); axis.setAttribute("font-size", "12");
          axis.textContent = "max " + max + " per " + $("filter-bucket").value + (buckets.length ? " · " + buckets[0] + " … " + buckets[buckets.length - 1] : " · no rejections");
          svg.append(axis);
          $("chart").replaceChildren(svg);
          const legend = $("legend");
          legend.replaceChildren();
          for (const code of [...new Set(counts.map((c) => c.reasonCode))].sort()) {
            const item = el("span");
            const swatch = el("i");
            swatch.style.background = colour(code);
            item.append(swatch, document.createTextNode(code));
            legend.append(item);
          }
          for (const swatch of document.querySelectorAll("#counts tr[data-reason]")) {
            swatch.querySelector("i").style.background = colour(swatch.getAttribute("data-reason"));
            swatch.querySelector("i").style.display = "inline-block";
            swatch.querySelector("i").style.width = "10px"; swatch.querySelector("i").style.height = "10px"; swatch.querySelector("i").style.marginRight = "4px";
          }
        }

        function renderList(page) {
          $("total").textContent = "(" + page.total + ")";
          $("prev").disabled = state.offset === 0;
          $("next").disabled = state.offset + page.items.length >= page.total;
          const body = $("rejections").querySelector("tbody");
          body.replaceChildren();
          for (const item of page.items) {
            const row = el("tr", null, { "data-id": item.messageId });
            const pick = el("input", null, { type: "checkbox", "aria-label": "select" });
            pick.checked = state.selected.has(item.messageId);
            const redrivable = item.redrivable === true;
            pick.disabled = !redrivable;
            pick.addEventListener("click", (event) => {
              event.stopPropagation();
              if (pick.checked) state.selected.add(item.messageId); else state.selected.delete(item.messageId);
              $("redrive-selected").disabled = state.selected.size === 0;
            });
            const cell = el("td"); cell.append(pick);
            row.append(cell, el("td", new Date(item.receivedAt).toLocaleString()), el("td", item.messageId), el("td", item.ceType || "—"),
              el("td", item.direction), el("td", item.reasonCode), el("td", item.redrivenOutcome || ""));
            row.addEventListener("click", () => showDetail(item.messageId));
            body.append(row);
          }
        }

        async function showDetail(id) {
          const detail = await api("rejections/" + encodeURIComponent(id));
          $("detail-id").textContent = detail.messageId;
          const fields = $("detail-fields");
          fields.replaceChildren();
          for (const [label, value] of [["received", detail.receivedAt], ["type", detail.ceType || "—"], ["source", detail.ceSource || "—"],
                                        ["direction", detail.direction], ["position", detail.sourceTopic + " / " + detail.partition + " / " + detail.offset],
                                        ["reason code", detail.reasonCode + (detail.reason.rule ? " (" + detail.reason.rule + ")" : "")],
                                        ["sealed copy", detail.sealed ? "kept, sealed for the origin side"
                                          : detail.sealedCopyErasedAt ? "erased " + new Date(detail.sealedCopyErasedAt).toLocaleString() + " (its retention ended)" : "none"],
                                        ["redriven", detail.redrivenOutcome || "no"]]) {
            fields.append(el("dt", label), el("dd", value));
          }
          $("detail-reason-en").textContent = detail.reason.english || detail.reasonCode;
          $("detail-reason-nb").textContent = detail.reason.norwegian || detail.reasonCode;
          $("detail-redrive").hidden = !detail.redrivable;
          $("detail-redrive").onclick = () => redrive([detail.messageId], $("detail-result"));
          $("detail-result").textContent = "";
          $("detail").hidden = false;
        }

        async function redrive(ids, output) {
          try {
            const body = await api("rejections/redrive", { method: "POST", body: JSON.stringify({ messageIds: ids }) });
            output.textContent = body.results.map((r) => r.messageId + ": " + r.outcome + (r.reasonCode ? " (" + r.reasonCode + ")" : "")).join("; ");
            state.selected.clear(); $("redrive-selected").disabled = true;
            refresh();
          } catch (error) {
            output.textContent = "Redrive failed: " + error.message;
          }
        }

        async function start() {
          $("login").hidden = true; $("app").hidden = false;
          try {
            const reasons = await api("reasons");
            state.reasons = Object.fromEntries(reasons.reasons.map((r) => [r.code, r]));
            const select = $("filter-reason");
            select.replaceChildren(el("option", "any", { value: "" }));
            for (const reason of reasons.reasons) select.append(el("option", reason.code, { value: reason.code }));
          } catch (error) { return; }
          await refresh();
          clearInterval(state.timer);
          state.timer = setInterval(() => { if ($("auto-refresh").checked) refresh(); }, 5000);
        }

        document.addEventListener("DOMContentLoaded", () => {
          const fragment = new URLSearchParams(location.hash.slice(1));
          if (fragment.get("token")) {
            sessionStorage.setItem("consent-bridge-token", fragment.get("token"));
            history.replaceState(null, "", location.pathname);
          }
          $("filters").addEventListener("submit", (event) => { event.preventDefault(); state.offset = 0; refresh(); });
          $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); refresh(); });
          $("next").addEventListener("click", () => { state.offset += state.limit; refresh(); });
          $("detail-close").addEventListener("click", () => { $("detail").hidden = true; });
          $("redrive-selected").addEventListener("click", () => redrive([...state.selected], $("status")));
          $("token-form").addEventListener("submit", (event) => {
            event.preventDefault();
            state.token = $("token").value;
            sessionStorage.setItem("consent-bridge-token", state.token);
            start();
          });
          state.token = sessionStorage.getItem("consent-bridge-token");
          if (state.token) start(); else showLogin("");
        });

        """
}
