// The dit4j page: no framework, no network beyond this server.
"use strict";
const $ = (id) => document.getElementById(id);
let model = null, classes = [], current = null, events = null;

function message(text, isError, field) {
  $("message").textContent = text || "";
  $("message").className = isError ? "error" : "";
  document.querySelectorAll(".bad").forEach((e) => e.classList.remove("bad"));
  const ids = { class: "class", count: "count", steps: "steps", sampler: "sampler", cfg_scale: "cfg", seed: "seed" };
  if (field && ids[field]) $(ids[field]).classList.add("bad");
}

function fillClasses() {
  const q = $("class-search").value.trim().toLowerCase();
  const sel = $("class"), keep = sel.value;
  sel.innerHTML = "";
  for (const c of classes) {
    if (q && !c.name.toLowerCase().includes(q) && String(c.id) !== q) continue;
    const o = document.createElement("option");
    o.value = c.id;
    o.textContent = c.id + ": " + c.name;
    sel.appendChild(o);
  }
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  else if (sel.options.length) sel.selectedIndex = 0;
}

async function load() {
  const r = await fetch("/v1/model");
  model = await r.json();
  $("model").textContent = model.name + " · " + model.num_classes + " classes · " + model.checkpoint;
  const names = model.class_names || [];
  classes = [];
  for (let i = 0; i < model.num_classes; i++) classes.push({ id: i, name: names[i] || "class " + i });
  fillClasses();
  const d = model.defaults;
  $("cfg").value = d.cfg_scale;
  $("cfg").disabled = !model.guidance;
  $("cfg-value").textContent = $("cfg").value;
  $("steps").value = String(d.steps).replace(/^ddim/, "");
  $("steps").max = model.limits.max_steps;
  $("count").max = model.limits.max_count;
  for (const s of model.samplers) {
    const o = document.createElement("option");
    o.value = o.textContent = s;
    $("sampler").appendChild(o);
  }
  $("sampler").value = d.sampler;
  $("seed").value = d.seed;
}

function request() {
  if ($("random-seed").checked) $("seed").value = Math.floor(Math.random() * 2 ** 31);
  const body = {
    class: Number($("class").value),
    count: Number($("count").value),
    steps: Number($("steps").value),
    sampler: $("sampler").value,
    seed: Number($("seed").value),
  };
  if (model.guidance) body.cfg_scale = Number($("cfg").value);
  return body;
}

function busy(on) {
  $("generate").disabled = on;
  $("cancel").disabled = !on;
}

async function generate(ev) {
  ev.preventDefault();
  if ($("class").value === "") return message("pick a class", true, "class");
  const body = request();
  message("queued…");
  $("progress").value = 0;
  $("previews").innerHTML = "";
  $("eta").textContent = "";
  let r;
  try {
    r = await fetch("/v1/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (e) {
    return message("the server is not reachable: " + e, true);
  }
  const j = await r.json().catch(() => ({}));
  if (r.status === 429) return message("The queue is full: try again in " + (r.headers.get("Retry-After") || j.retry_after || "a few") + " s.", true);
  if (r.status === 400) return message("Bad value: " + j.error, true, j.field);
  if (!r.ok) return message("error " + r.status + ": " + (j.error || ""), true);
  current = j.id;
  busy(true);
  events = new EventSource("/v1/jobs/" + j.id + "/events");
  events.addEventListener("progress", (e) => {
    const p = JSON.parse(e.data);
    $("progress").max = p.total;
    $("progress").value = p.step;
    if (p.step > 0) message("step " + p.step + " of " + p.total);
    $("eta").textContent = p.eta_seconds != null ? "about " + p.eta_seconds + " s left" : "";
  });
  events.addEventListener("preview", (e) => {
    const p = JSON.parse(e.data);
    $("previews").innerHTML = "";
    for (const png of p.images) {
      const img = document.createElement("img");
      img.src = "data:image/png;base64," + png;
      img.alt = "preview at step " + p.step;
      $("previews").appendChild(img);
    }
  });
  const end = async (kind) => {
    if (current !== j.id) return;
    events.close();
    busy(false);
    const id = current;
    current = null;
    if (kind === "done") {
      const res = await (await fetch("/v1/jobs/" + id)).json();
      addToGallery(res);
      message("done: " + res.count + " image" + (res.count > 1 ? "s" : ""));
      $("eta").textContent = "";
    } else if (kind === "cancelled") {
      message("cancelled");
    }
  };
  events.addEventListener("done", () => end("done"));
  events.addEventListener("cancelled", () => end("cancelled"));
  events.addEventListener("error", (e) => {
    let text = "the event stream broke";
    try { text = JSON.parse(e.data).error; } catch (x) { /* a connection error, not an event */ }
    message("failed: " + text, true);
    end("error");
  });
}

function addToGallery(res) {
  const p = res.parameters;
  for (const im of res.images) {
    const fig = document.createElement("figure");
    const img = document.createElement("img");
    img.src = "data:image/png;base64," + im.png;
    img.alt = im.class_name || "class " + im.label;
    const cap = document.createElement("figcaption");
    const name = im.class_name || "class " + im.label;
    cap.textContent = name + " · " + p.sampler + " " + p.steps + " steps · guidance " + p.cfg_scale + " · seed " + p.seed + " #" + im.index + " ";
    const a = document.createElement("a");
    a.href = im.href;
    a.textContent = "download";
    a.download = "";
    cap.appendChild(a);
    fig.append(img, cap);
    $("gallery").prepend(fig);
  }
}

$("form").addEventListener("submit", generate);
$("class-search").addEventListener("input", fillClasses);
$("cfg").addEventListener("input", () => ($("cfg-value").textContent = $("cfg").value));
$("cancel").addEventListener("click", async () => {
  if (current) await fetch("/v1/jobs/" + current, { method: "DELETE" });
});
// A link can carry the form: ?class=3&steps=50&seed=7&count=2&cfg=4&sampler=ddim, and go=1 to generate at once.
function fromLink() {
  const q = new URLSearchParams(location.search);
  const set = { class: "class", steps: "steps", seed: "seed", count: "count", cfg: "cfg", sampler: "sampler" };
  for (const [k, id] of Object.entries(set)) if (q.has(k)) $(id).value = q.get(k);
  $("cfg-value").textContent = $("cfg").value;
  if (q.get("go") === "1") $("generate").click();
}

load().then(fromLink).catch((e) => message("could not load the model: " + e, true));
