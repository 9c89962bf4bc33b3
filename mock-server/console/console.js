// The agent console. Everything it does goes through the documented
// control API (schemas/control-api.openapi.yaml): the session list is
// polled, the selected session's frames come as server-sent events, and
// the event buttons are built from GET /control/v1/server-events, so the
// page lists no event of its own.
"use strict";

(function () {
  var API = "/control/v1";
  var POLL_MS = 1000;
  var TYPING_EVERY_MS = 3000;
  var $ = function (id) { return document.getElementById(id); };

  var state = {
    token: null,
    selected: null,       // session id
    follow: null,         // AbortController of the frame stream
    sessions: [],
    catalog: null,        // {events, status_codes}
    statusNames: {},
    lastTyping: 0,
    formEvent: null,
    down: false,          // the last poll failed
  };

  // --- the control token --------------------------------------------------
  // Given in the address as #token=..., it is kept for this tab only and
  // taken out of the address bar.
  (function readToken() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem("jodo-control-token", decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    state.token = sessionStorage.getItem("jodo-control-token");
  })();

  function headers(json) {
    var h = {};
    if (state.token) { h.Authorization = "Bearer " + state.token; }
    if (json) { h["Content-Type"] = "application/json"; }
    return h;
  }

  // --- talking to the control API -----------------------------------------
  // Resolves to the parsed answer; rejects with {status, code, message}
  // taken from the API's error body, shown to the person as it is.
  function call(method, path, body) {
    // Every change is sent as JSON, a body or not: the control API
    // refuses any other (a cross-site page could send that).
    var change = method !== "GET";
    if (change && body === undefined) { body = {}; }
    var init = { method: method, headers: headers(change), cache: "no-store" };
    if (change) { init.body = JSON.stringify(body); }
    return fetch(API + path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (res.ok) { return data; }
        if (res.status === 401) { askToken(); }
        var err = (data && data.error) || {};
        throw { status: res.status, code: err.code || ("http_" + res.status), message: err.message || text || res.statusText };
      });
    }, function () {
      throw { status: 0, code: "unreachable", message: "the mock does not answer (stopped or restarting?)" };
    });
  }

  function notice(err) {
    var box = $("notice");
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    box.textContent = (err.status ? err.status + " " : "") + err.code + ": " + err.message;
    box.dataset.code = err.code;
  }

  function askToken() {
    $("token-form").hidden = false;
  }

  $("token-form").addEventListener("submit", function (e) {
    e.preventDefault();
    state.token = $("token").value.trim() || null;
    if (state.token) { sessionStorage.setItem("jodo-control-token", state.token); }
    $("token").value = "";
    $("token-form").hidden = true;
    notice(null);
    start();
  });

  function link(up, text) {
    var el = $("link");
    el.className = "link " + (up ? "up" : "down");
    el.textContent = text;
  }

  // --- sessions -----------------------------------------------------------
  function seconds(ms) {
    var s = Math.floor(ms / 1000);
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }

  function pollSessions() {
    call("GET", "/sessions").then(function (data) {
      link(true, "connected");
      if (state.down) {
        // Back after a break (perhaps a restarted mock): read again what
        // may have changed with it.
        state.down = false;
        loadCatalog();
        loadScenarios();
      }
      state.sessions = data.sessions.slice().reverse();
      var known = state.sessions.some(function (s) { return s.id === state.selected; });
      if (state.selected && !known) {
        notice({ status: 404, code: "unknown_session", message: "session " + state.selected + " is no longer known to the mock" });
        unselect();
      }
      drawSessions();
      if (!state.selected) {
        var live = state.sessions.filter(function (s) { return s.live; })[0];
        if (live) { select(live.id); }
      }
    }, function (err) {
      state.down = true;
      link(false, err.status === 0 ? "mock unreachable, retrying" : "refused: " + err.code);
    }).then(function () { setTimeout(pollSessions, POLL_MS); });
  }

  function drawSessions() {
    var list = $("sessions");
    list.textContent = "";
    $("no-sessions").hidden = state.sessions.length > 0;
    state.sessions.slice(0, 100).forEach(function (s) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.session = s.id;
      b.setAttribute("aria-current", String(s.id === state.selected));
      var dot = document.createElement("span");
      dot.className = "dot" + (s.live ? " live" : "");
      dot.title = s.live ? "channel open" : "no channel";
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = s.visitor || ("visitor #" + s.serial);
      var facts = document.createElement("div");
      facts.className = "muted";
      facts.textContent = s.scenario + " · " + s.state + " · " + seconds(s.duration_ms);
      b.append(dot, who, facts);
      b.addEventListener("click", function () { select(s.id); });
      li.append(b);
      list.append(li);
    });
    var current = state.sessions.filter(function (s) { return s.id === state.selected; })[0];
    if (current) { drawFacts(current); }
  }

  function drawFacts(s) {
    $("session-title").textContent = (s.visitor || "visitor #" + s.serial) + " — session " + s.id;
    $("session-facts").textContent = "scenario " + s.scenario + ", state " + s.state +
      ", " + (s.live ? "channel open" : "no channel") + ", " + seconds(s.duration_ms) +
      " since " + s.started;
  }

  function unselect() {
    if (state.follow) { state.follow.abort(); }
    state.selected = null;
    $("frames").textContent = "";
    $("triggers").textContent = "";
    $("session-title").textContent = "No session selected";
    $("session-facts").textContent = "";
    $("reply").disabled = true;
    $("send").disabled = true;
  }

  function select(id) {
    if (state.follow) { state.follow.abort(); }
    state.selected = id;
    $("frames").textContent = "";
    $("reply").disabled = false;
    $("send").disabled = false;
    drawSessions();
    call("GET", "/sessions/" + encodeURIComponent(id)).then(function (detail) {
      drawTriggers(detail.triggers || []);
    }, notice);
    follow(id);
  }

  function drawTriggers(names) {
    var box = $("triggers");
    box.textContent = "";
    names.forEach(function (name) {
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.trigger = name;
      b.textContent = name;
      b.title = "Fire the scenario's control trigger " + name;
      b.addEventListener("click", function () {
        act("POST", "/triggers/" + encodeURIComponent(name));
      });
      box.append(b);
    });
  }

  // Sends one command to the selected session; errors are shown as given.
  function act(method, suffix, body) {
    if (!state.selected) {
      notice({ status: 0, code: "no_session", message: "pick a session first" });
      return Promise.resolve(false);
    }
    return call(method, "/sessions/" + encodeURIComponent(state.selected) + suffix, body)
      .then(function () { notice(null); return true; }, function (err) { notice(err); return false; });
  }

  // --- the frame stream ---------------------------------------------------
  // fetch instead of EventSource, so that the token travels in a header;
  // the stream is taken up again where it stopped (?from=) after any break.
  function follow(id) {
    var ctl = new AbortController();
    state.follow = ctl;
    var next = 0;
    var wait = 500;
    function once() {
      if (ctl.signal.aborted) { return; }
      fetch(API + "/sessions/" + encodeURIComponent(id) + "/stream?from=" + next,
        { headers: headers(false), signal: ctl.signal, cache: "no-store" })
        .then(function (res) {
          if (!res.ok) {
            return res.json().catch(function () { return {}; }).then(function (body) {
              var err = (body && body.error) || {};
              notice({ status: res.status, code: err.code || "http_" + res.status, message: err.message || "" });
              if (res.status === 404) { ctl.abort(); }
            });
          }
          wait = 500;
          var reader = res.body.getReader();
          var decoder = new TextDecoder();
          var buf = "";
          function pump() {
            return reader.read().then(function (r) {
              if (r.done) { return; }
              buf += decoder.decode(r.value, { stream: true });
              var cut;
              while ((cut = buf.indexOf("\n\n")) >= 0) {
                var block = buf.slice(0, cut);
                buf = buf.slice(cut + 2);
                var ev = parseEvent(block);
                if (ev.event === "frame") {
                  next = Number(ev.id) + 1;
                  drawFrame(JSON.parse(ev.data), Number(ev.id));
                } else if (ev.event === "lagged") {
                  drawNote("fault", ev.data + " frames went by too fast to show");
                  next += Number(ev.data);
                }
              }
              return pump();
            });
          }
          return pump();
        })
        .catch(function () { /* a break: taken up again below */ })
        .then(function () {
          if (ctl.signal.aborted) { return; }
          setTimeout(once, wait);
          wait = Math.min(wait * 2, 5000);
        });
    }
    once();
  }

  function parseEvent(block) {
    var ev = { event: "message", id: null, data: "" };
    block.split("\n").forEach(function (line) {
      if (line.charAt(0) === ":") { return; }
      var at = line.indexOf(":");
      var field = at < 0 ? line : line.slice(0, at);
      var value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
      if (field === "data") { ev.data += (ev.data ? "\n" : "") + value; }
      else if (field === "event") { ev.event = value; }
      else if (field === "id") { ev.id = value; }
    });
    return ev;
  }

  var QUIET = { "chat/messagedeliveredack": 1, "chat/messagereadack": 1, "chat/typing": 1 };

  function drawNote(kind, text, meta) {
    var li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    if (meta) { li.append(metaLine(meta)); }
    append(li);
  }

  function metaLine(text) {
    var m = document.createElement("span");
    m.className = "meta";
    m.textContent = text;
    return m;
  }

  function append(li) {
    var list = $("frames");
    var stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 24;
    list.append(li);
    if (stick) { list.scrollTop = list.scrollHeight; }
  }

  // One transcript line {ts, dir, frame}: a bubble for what people said,
  // a line for the rest; acknowledgements and envelopes only on demand.
  function drawFrame(line, number) {
    var f = line.frame || {};
    var time = (line.ts || "").replace(/^.*T/, "").replace(/\..*$/, "");
    var meta = "#" + number + " " + line.dir + " " + time +
      (f.kind ? " kind " + f.kind : "") + (f.seq !== undefined ? " seq " + f.seq : "") +
      (f.messageid ? " id " + f.messageid : "");
    var li = document.createElement("li");
    li.dataset.dir = line.dir;
    if (f.kind === "event" && f.data) {
      var key = f.data.media + "/" + f.data.eventtype;
      li.dataset.event = key;
      if (key === "chat/messagereceived") {
        li.className = "agent";
        bubble(li, (f.data.sender ? f.data.sender + ": " : "") + text(f.data.msg));
      } else {
        li.className = "system" + (QUIET[key] ? " detail" : "");
        li.textContent = "→ " + key + (f.data.status !== undefined ? " [" + f.data.status + "]" : "") +
          (f.data.msg !== undefined ? " " + text(f.data.msg) : "") +
          (f.data.url ? " " + f.data.url : "");
      }
    } else if (f.kind === "chat.send" && f.data) {
      li.className = "visitor";
      li.dataset.kind = f.kind;
      bubble(li, text(f.data.text));
    } else if (f.kind) {
      li.dataset.kind = f.kind;
      var quiet = f.kind === "welcome" || f.kind === "chat.readack" || f.kind === "error";
      li.className = "system" + (quiet ? " detail" : "");
      li.textContent = (line.dir === "in" ? "← visitor: " : "→ ") + f.kind +
        (f.data && Object.keys(f.data).length ? " " + JSON.stringify(f.data) : "");
    } else {
      li.className = "fault";
      li.textContent = (line.dir === "in" ? "← " : "→ ") + JSON.stringify(f);
    }
    li.append(metaLine(meta));
    append(li);
  }

  function bubble(li, content) {
    var b = document.createElement("span");
    b.className = "bubble";
    b.textContent = content;
    li.append(b);
  }

  function text(v) { return typeof v === "string" ? v : JSON.stringify(v); }

  $("details").addEventListener("change", function () {
    $("frames").classList.toggle("detailed", this.checked);
  });

  // --- replying -----------------------------------------------------------
  $("reply").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendReply();
    }
  });
  $("reply").addEventListener("input", function () {
    var now = Date.now();
    if (this.value.trim() && now - state.lastTyping > TYPING_EVERY_MS && state.selected) {
      state.lastTyping = now;
      var who = $("sender").value.trim() || "Agent";
      act("POST", "/events", { media: "chat", eventtype: "typing", msg: who + " is typing" }).then(function (ok) {
        if (ok) {
          $("typing").textContent = "The visitor's page was told that " + who + " is typing.";
          setTimeout(function () { $("typing").textContent = ""; }, TYPING_EVERY_MS);
        }
      });
    }
  });
  $("reply-form").addEventListener("submit", function (e) { e.preventDefault(); sendReply(); });

  function sendReply() {
    var box = $("reply");
    var body = { text: box.value };
    var who = $("sender").value.trim();
    if (who) { body.sender = who; }
    var sentAt = Date.now();
    act("POST", "/reply", body).then(function (ok) {
      if (ok) {
        window.__consoleReplies = window.__consoleReplies || [];
        window.__consoleReplies.push({ text: body.text, at: sentAt });
        box.value = "";
        state.lastTyping = 0;
        $("typing").textContent = "";
      }
    });
  }

  // --- events from the catalogue ------------------------------------------
  function loadCatalog() {
    return call("GET", "/server-events").then(function (data) {
      state.catalog = data;
      data.status_codes.forEach(function (s) { state.statusNames[s.code] = s.name; });
      drawEvents();
    }, notice);
  }

  function drawEvents() {
    var box = $("events");
    box.textContent = "";
    var groups = {};
    var order = [];
    state.catalog.events.forEach(function (ev) {
      if (!groups[ev.media]) { groups[ev.media] = []; order.push(ev.media); }
      groups[ev.media].push(ev);
    });
    order.forEach(function (media) {
      var d = document.createElement("details");
      d.open = true;
      var s = document.createElement("summary");
      s.textContent = media;
      var row = document.createElement("div");
      row.className = "row";
      groups[media].forEach(function (ev) {
        var b = document.createElement("button");
        b.type = "button";
        b.dataset.event = ev.key;
        b.textContent = ev.eventtype;
        b.title = ev.summary;
        b.addEventListener("click", function () { openForm(ev); });
        row.append(b);
      });
      d.append(s, row);
      box.append(d);
    });
  }

  function resolve(schema, root) {
    if (schema && schema.$ref && schema.$ref.indexOf("#/$defs/") === 0) {
      return root.$defs[schema.$ref.slice(8)] || {};
    }
    return schema || {};
  }

  // A form for one event, its fields read off the event's schema.
  function openForm(ev) {
    state.formEvent = ev;
    $("event-title").textContent = ev.key;
    $("event-summary").textContent = ev.summary;
    var fields = $("event-fields");
    fields.textContent = "";
    var props = ev.schema.properties || {};
    var required = ev.schema.required || [];
    Object.keys(props).sort(function (a, b) {
      return (required.indexOf(b) >= 0) - (required.indexOf(a) >= 0);
    }).forEach(function (name) {
      if (name === "media" || name === "eventtype" || name === "systemcallid") { return; }
      var schema = resolve(props[name], ev.schema);
      var label = document.createElement("label");
      label.textContent = name + (required.indexOf(name) >= 0 ? " (required)" : " (optional)");
      var input;
      if (schema.enum || schema.const !== undefined) {
        input = document.createElement("select");
        var values = schema.enum || [schema.const];
        if (required.indexOf(name) < 0) { values = [""].concat(values); }
        values.forEach(function (v) {
          var o = document.createElement("option");
          o.value = JSON.stringify(v);
          o.textContent = v === "" ? "(leave out)" : v + (state.statusNames[v] && name === "status" ? " — " + state.statusNames[v] : "");
          if (v === "") { o.value = ""; }
          input.append(o);
        });
      } else if (schema.type === "object") {
        input = document.createElement("textarea");
        input.rows = 3;
        input.placeholder = '{"field": "value"}';
        input.dataset.json = "1";
      } else {
        input = document.createElement("input");
        if (schema.type === "integer" || schema.type === "number") {
          input.type = "number";
          input.step = schema.type === "integer" ? "1" : "any";
          input.dataset.number = "1";
        } else {
          input.type = "text";
          if (schema.pattern && schema.pattern.indexOf("https") >= 0) { input.placeholder = "https://…"; }
        }
      }
      input.name = name;
      label.append(input);
      fields.append(label);
    });
    $("event-form").hidden = false;
    var first = fields.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  $("event-cancel").addEventListener("click", function () { $("event-form").hidden = true; });

  $("event-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var ev = state.formEvent;
    var data = { media: ev.media, eventtype: ev.eventtype };
    var bad = null;
    $("event-fields").querySelectorAll("[name]").forEach(function (input) {
      var v = input.value;
      if (v === "") { return; }
      if (input.tagName === "SELECT") { data[input.name] = JSON.parse(v); }
      else if (input.dataset.json) {
        try { data[input.name] = JSON.parse(v); } catch (err) { bad = input.name + " is not JSON: " + err.message; }
      } else if (input.dataset.number) { data[input.name] = Number(v); }
      else { data[input.name] = v; }
    });
    if (bad) { notice({ status: 0, code: "bad_field", message: bad }); return; }
    act("POST", "/events", data);
  });

  // --- faults -------------------------------------------------------------
  document.querySelectorAll("[data-fault]").forEach(function (b) {
    b.addEventListener("click", function () {
      var f = b.dataset.fault;
      var body = f === "drop" ? "drop"
        : f === "close" ? { close: { code: Number($("close-code").value) } }
        : f === "skip_seq" ? { skip_seq: Number($("skip-seq").value) }
        : f === "replay" ? { replay: Number($("replay").value) }
        : { raw: $("raw").value };
      act("POST", "/faults", body);
    });
  });

  // --- the scenario for new sessions ---------------------------------------
  function loadScenarios() {
    return Promise.all([call("GET", "/scenarios"), call("GET", "/scenario")]).then(function (r) {
      var select = $("scenario");
      select.textContent = "";
      r[0].scenarios.forEach(function (s) {
        var o = document.createElement("option");
        o.value = s.name;
        o.textContent = s.name;
        o.title = s.summary;
        o.selected = s.name === r[1].name;
        select.append(o);
      });
      showSummary();
    }, notice);
  }

  function showSummary() {
    var o = $("scenario").selectedOptions[0];
    $("scenario").title = o ? o.title : "";
    $("scenario-summary").textContent = o ? o.title : "";
  }

  $("scenario").addEventListener("change", function () {
    var name = this.value;
    call("PUT", "/scenario", { name: name }).then(function () { notice(null); showSummary(); }, notice);
  });

  var started = false;
  function start() {
    loadCatalog();
    loadScenarios();
    if (!started) { started = true; pollSessions(); }
  }
  start();
})();
