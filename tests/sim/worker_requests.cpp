// Request handlers of the simulated file worker (see worker_requests.hpp).
#include "worker_requests.hpp"

#include "server.hpp"

#include <leanproxy/document/text.hpp>
#include <leanproxy/protocol/message.hpp>

#include <random>
#include <thread>

namespace leansim {

namespace ec = leanproxy::protocol::error_code;

namespace {

std::set<std::string> rpc_sessions;  // main thread only

struct Snapshot {
  std::string text;
  std::vector<CmdResult> cmds;
};

/// The current text, elaborated on demand (the tiny language is instant).
Snapshot current(WorkerState& st) {
  Snapshot s;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    s.text = st.text;
  }
  if (st.header_failed) return s;
  Env env = st.base_env;
  Options opts = st.opts;
  opts.run_io = false;  // the worker ran this version's `#eval` IO already
  s.cmds = elaborate(s.text, st.header.end, env, opts);
  return s;
}

std::size_t offset_of(const Snapshot& s, const json& params) {
  const json& p = params["position"];
  return leanproxy::document::lsp_to_offset(
      s.text, {p.value("line", std::uint64_t{0}), p.value("character", std::uint64_t{0})});
}

/// The goal at `off`: the statement inside a `by` block, nothing after its tactic.
std::optional<std::string> goal_at(const Snapshot& s, std::size_t off, bool& in_proof) {
  in_proof = false;
  for (const auto& c : s.cmds) {
    if (!c.has_by || off < c.by_pos || off > c.end) continue;
    in_proof = true;
    if (off < c.tactic_end || !c.closed) return c.goal;
    return std::nullopt;
  }
  return std::nullopt;
}

const CmdResult::Term* term_at(const Snapshot& s, std::size_t off) {
  for (const auto& c : s.cmds)
    for (const auto& t : c.terms)
      if (off >= t.pos && off <= t.end) return &t;
  return nullptr;
}

json plain_goal(const Snapshot& s, const json& params) {
  bool in_proof = false;
  auto g = goal_at(s, offset_of(s, params), in_proof);
  if (!in_proof) return nullptr;
  if (!g) return json{{"rendered", "no goals"}, {"goals", json::array()}};
  return json{{"rendered", "```lean\n" + *g + "\n```"}, {"goals", json::array({*g})}};
}

json plain_term_goal(const Snapshot& s, const json& params) {
  const auto* t = term_at(s, offset_of(s, params));
  if (!t) return nullptr;
  return json{{"goal", "⊢ Nat"}, {"range", lsp_range(s.text, t->pos, t->end)}};
}

json hover(const Snapshot& s, const json& params) {
  std::size_t off = offset_of(s, params);
  for (const auto& c : s.cmds)
    if (!c.name.empty() && off >= c.name_pos && off <= c.name_end) {
      std::string type = c.kind == "def" ? "Nat" : c.goal.substr(std::string("⊢ ").size());
      return json{{"range", lsp_range(s.text, c.name_pos, c.name_end)},
                  {"contents", {{"kind", "markdown"}, {"value", "```lean\n" + c.name + " : " + type + "\n```"}}}};
    }
  const auto* t = term_at(s, off);
  if (!t) return nullptr;
  std::string value = "```lean\n" + t->text + " : Nat\n```";
  if (!t->module.empty()) value += "\n***\n*import " + t->module + "*";  // Lean names the defining module
  return json{{"range", lsp_range(s.text, t->pos, t->end)}, {"contents", {{"kind", "markdown"}, {"value", value}}}};
}

json document_symbols(const Snapshot& s) {
  json out = json::array();
  for (const auto& c : s.cmds) {
    if (c.name.empty()) continue;
    out.push_back({{"name", c.name},
                   {"kind", 6},  // Lean reports declarations as SymbolKind.method
                   {"range", lsp_range(s.text, c.begin, c.end)},
                   {"selectionRange", lsp_range(s.text, c.name_pos, c.name_end)}});
  }
  return out;
}

json rpc_call(WorkerState& st, const json& id, const json& params, bool& is_error) {
  is_error = false;
  if (!rpc_sessions.count(params.value("sessionId", ""))) {
    is_error = true;
    return make_error(id, ec::rpc_needs_reconnect, "Outdated RPC session");
  }
  std::string method = params.value("method", "");
  if (method == "Lean.Widget.getInteractiveGoals") {
    Snapshot s = current(st);
    bool in_proof = false;
    auto g = goal_at(s, offset_of(s, params), in_proof);
    if (!in_proof) return nullptr;
    json goals = json::array();
    if (g)
      goals.push_back({{"hyps", json::array()},
                       {"type", {{"text", g->substr(std::string("⊢ ").size())}}},
                       {"ctx", {{"p", "1"}}},
                       {"goalPrefix", "⊢ "},
                       {"mvarId", "_uniq.1"}});
    return json{{"goals", goals}};
  }
  is_error = true;
  return make_error(id, ec::method_not_found, "No RPC method '" + method + "' found");
}

/// Builds the reply to `msg` (result or error message).
json answer(WorkerState& st, const json& msg) {
  const json& id = msg["id"];
  const std::string method = msg["method"];
  const json& params = msg.contains("params") ? msg["params"] : json::object();
  if (method == "$/lean/plainGoal") return make_response(id, plain_goal(current(st), params));
  if (method == "$/lean/plainTermGoal") return make_response(id, plain_term_goal(current(st), params));
  if (method == "textDocument/hover") return make_response(id, hover(current(st), params));
  if (method == "textDocument/documentSymbol") return make_response(id, document_symbols(current(st)));
  if (method == "$/lean/rpc/connect") {
    // A UInt64, which Lean writes as a decimal string.
    static std::mt19937_64 rng(std::random_device{}());
    std::string sid = std::to_string(rng());
    rpc_sessions.insert(sid);
    return make_response(id, {{"sessionId", sid}});
  }
  if (method == "$/lean/rpc/call") {
    bool is_error = false;
    json r = rpc_call(st, id, params, is_error);
    return is_error ? r : make_response(id, r);
  }
  return make_error(id, ec::method_not_found, "No request handler found for '" + method + "'");
}

}  // namespace

void handle_request(WorkerState& st, const json& msg) {
  if (msg["method"] == "textDocument/waitForDiagnostics") {
    std::lock_guard<std::mutex> lock(st.mu);
    st.waiters.push_back({msg["id"], msg["params"].value("version", std::int64_t{0})});
    st.answer_waiters();
    return;
  }
  json reply = answer(st, msg);
  long delay = Switches::get().reply_delay_ms;
  if (delay <= 0) {
    st.out.write(reply);
    return;
  }
  // "Answer slowly": the reply waits, and a $/cancelRequest meanwhile wins.
  std::string key = reply["id"].dump();
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.pending_delayed.insert(key);
  }
  std::thread([&st, reply, key, delay] {
    sleep_ms(delay);
    std::lock_guard<std::mutex> lock(st.mu);
    if (st.pending_delayed.erase(key)) st.out.write(reply);
  }).detach();
}

void cancel_request(WorkerState& st, const json& id) {
  std::lock_guard<std::mutex> lock(st.mu);
  for (auto it = st.waiters.begin(); it != st.waiters.end(); ++it) {
    if (it->id == id) {
      st.out.write(make_error(id, ec::request_cancelled, "Request cancelled"));
      st.waiters.erase(it);
      return;
    }
  }
  if (st.pending_delayed.erase(id.dump())) {
    st.out.write(make_error(id, ec::request_cancelled, "Request cancelled"));
  }
}

}  // namespace leansim
