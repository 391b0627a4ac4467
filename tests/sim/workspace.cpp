// Lake's view of a workspace for the simulator (see workspace.hpp).
#include "workspace.hpp"

#include "lang_io.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <functional>

namespace fs = std::filesystem;

namespace leansim {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t a = 0;
  while (a < s.size() && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  return s.substr(a);
}

std::string module_rel_path(const std::string& module) {
  std::string p = module;
  for (char& c : p)
    if (c == '.') c = '/';
  return p;
}

std::string root_component(const std::string& module) { return module.substr(0, module.find('.')); }

Package read_package(const std::string& root, const std::string& default_name) {
  Package p{default_name, root, {}, ""};
  std::string cfg = read_file(root + "/lakefile.toml").value_or("");
  if (cfg.empty()) cfg = read_file(root + "/lakefile.lean").value_or("");
  std::size_t at = cfg.find("sim.strictSorry");
  if (at != std::string::npos) {
    std::string line = cfg.substr(at, cfg.find('\n', at) - at);
    p.opts.strict_sorry = line.find("true") != std::string::npos;
  }
  p.opts_key = p.opts.strict_sorry ? "sim.strictSorry=true" : "";
  return p;
}

// The built-in toolchain library: a few Init / Std-like modules.
const std::vector<std::pair<std::string, std::string>>& toolchain_sources() {
  static const std::vector<std::pair<std::string, std::string>> srcs = {
      {"Init.Prelude", "def Nat.one : Nat := 1\n"},
      {"Init", "import Init.Prelude\ndef Nat.two : Nat := Nat.one + Nat.one\n"},
      {"Std", "import Init\ndef Std.answer : Nat := 42\n"},
      {"Std.Data.Basic", "import Std\ndef Std.Data.size : Nat := 16\n"},
  };
  return srcs;
}

json make_olean(const std::string& module, const Header& h, const std::vector<CmdResult>& cmds) {
  json imports = json::array(), decls = json::array();
  for (const auto& i : h.imports) imports.push_back(i.module);
  for (const auto& c : cmds) {
    if (c.name.empty() || (!c.declared && c.kind != "def")) continue;
    if (!c.declared) {  // a definition that failed: exported as 0, as always
      decls.push_back({{"name", c.name}, {"value", 0}});
      continue;
    }
    json d = {{"name", c.name}, {"value", c.declared->value}};
    if (c.declared->kind != 'd') d["kind"] = std::string(1, c.declared->kind), d["prop"] = c.declared->prop;
    if (!c.declared->axioms.empty()) d["axioms"] = c.declared->axioms;
    decls.push_back(std::move(d));
  }
  return json{{"module", module}, {"imports", imports}, {"decls", decls}};
}

}  // namespace

std::vector<std::string> Workspace::lean_path() const {
  std::vector<std::string> out;
  for (std::size_t i = 1; i < packages.size(); ++i) out.push_back(packages[i].build_lib());
  out.push_back(packages[0].build_lib());
  return out;
}

std::vector<std::string> Workspace::src_path() const {
  std::vector<std::string> out;
  for (const auto& p : packages) out.push_back(p.root);
  return out;
}

const Package& Workspace::package_of(const std::string& path) const {
  const Package* best = &packages[0];
  for (const auto& p : packages)
    if (path.rfind(p.root + "/", 0) == 0 && p.root.size() > best->root.size()) best = &p;
  return *best;
}

std::optional<Workspace> load_workspace(const std::string& dir) {
  std::string root = fs::weakly_canonical(fs::absolute(dir)).string();
  if (!file_exists(root + "/lakefile.toml") && !file_exists(root + "/lakefile.lean")) return std::nullopt;
  Workspace ws;
  ws.root = root;
  ws.toolchain = trim(read_file(root + "/lean-toolchain").value_or(""));
  ws.packages.push_back(read_package(root, fs::path(root).filename().string()));
  std::error_code ec;
  std::vector<std::string> pkgs;
  for (const auto& e : fs::directory_iterator(root + "/.lake/packages", ec))
    if (e.is_directory()) pkgs.push_back(e.path().string());
  std::sort(pkgs.begin(), pkgs.end());
  for (const auto& p : pkgs) ws.packages.push_back(read_package(p, fs::path(p).filename().string()));
  return ws;
}

std::string toolchain_lib() {
  std::string sysroot = env_str("LEAN_SIM_SYSROOT", self_dir() + "/../sim-sysroot");
  std::string lib = fs::weakly_canonical(fs::absolute(sysroot)).string() + "/lib/lean";
  for (const auto& [module, src] : toolchain_sources()) {
    std::string olean = lib + "/" + module_rel_path(module) + ".olean";
    if (file_exists(olean)) continue;
    Header h = parse_header(src);
    Env env = load_imports(h, {lib}).env;
    auto cmds = elaborate(src, h.end, env, {});
    std::string content = make_olean(module, h, cmds).dump();
    write_file_atomic(olean, content);
    write_file_atomic(olean + ".hash", std::to_string(hash64(content)));
  }
  return lib;
}

std::vector<std::string> search_path_from_env() {
  std::vector<std::string> sp;
  std::string lp = env_str("LEAN_PATH");
  std::size_t start = 0;
  while (!lp.empty() && start <= lp.size()) {
    std::size_t e = lp.find(':', start);
    if (e == std::string::npos) e = lp.size();
    if (e > start) sp.push_back(lp.substr(start, e - start));
    start = e + 1;
  }
  sp.push_back(toolchain_lib());
  return sp;
}

Loaded load_imports(const Header& h, const std::vector<std::string>& search_path) {
  Loaded out;
  std::set<std::string> seen;
  Diag clash;  // the first duplicate declaration, if any
  // Lean's findOLean: the first entry holding the module's root (as a dir or
  // an .olean) decides; a missing file below it is a different error.
  std::function<void(const std::string&, const Import&)> load = [&](const std::string& mod, const Import& at) {
    if (seen.count(mod)) return;
    seen.insert(mod);
    std::string rootc = root_component(mod), found;
    for (const auto& e : search_path) {
      if (fs::is_directory(e + "/" + rootc) || file_exists(e + "/" + rootc + ".olean")) {
        found = e + "/" + module_rel_path(mod) + ".olean";
        break;
      }
    }
    Diag d;
    d.pos = at.pos;
    d.end_pos = at.end_pos;
    if (found.empty()) {
      d.message = "unknown module prefix '" + rootc + "'\n\nNo directory '" + rootc + "' or file '" + rootc +
                  ".olean' in the search path entries:\n";
      for (std::size_t i = 0; i < search_path.size(); ++i) d.message += (i ? "\n" : "") + search_path[i];
      out.diags.push_back(d);
      return;
    }
    auto content = read_file(found);
    json olean = content ? json::parse(*content, nullptr, false) : json();
    if (!olean.is_object()) {
      d.message = "object file '" + found + "' of module " + mod + " does not exist";
      out.diags.push_back(d);
      return;
    }
    for (const auto& imp : olean["imports"]) load(imp.get<std::string>(), at);
    out.modules.push_back(mod);
    for (const auto& decl : olean["decls"]) {
      std::string name = decl["name"];
      Decl loaded{decl["value"].get<std::uint64_t>(), mod, 'd', {}, {}};
      loaded.kind = decl.value("kind", std::string("d")).front();
      loaded.prop = decl.value("prop", std::string());
      loaded.axioms = decl.value("axioms", std::set<std::string>{});
      // (The simulator reports clashes of definitions only.)
      if (auto prev = out.env.find(name); prev != out.env.end() && loaded.kind == 'd' && prev->second.kind == 'd' &&
                                          clash.message.empty()) {
        // Lean's `throwAlreadyImported`: names the module being imported and
        // the one that declared the name first.
        clash.message = "import " + mod + " failed, environment already contains '" + name + "' from " + prev->second.module;
        continue;
      }
      out.env[name] = std::move(loaded);
    }
  };
  for (const auto& imp : h.imports) load(imp.module, imp);
  if (!clash.message.empty()) {
    // importModules throws: the error is logged at the header's start (as
    // processHeader does) and nothing of the file is elaborated.
    clash.pos = clash.end_pos = h.begin;
    out.diags.push_back(clash);
  }
  return out;
}

std::string format_diag(const std::string& file, const std::string& text, const Diag& d) {
  json p = lsp_pos(text, d.pos);
  const char* sev = d.severity == 1 ? "error" : d.severity == 2 ? "warning" : "info";
  return file + ":" + std::to_string(p["line"].get<int>() + 1) + ":" + std::to_string(p["character"].get<int>()) +
         ": " + sev + ": " + d.message;
}

std::optional<std::pair<const Package*, std::string>> Builder::find_source(const std::string& module) const {
  for (const auto& p : ws_.packages) {
    std::string path = p.root + "/" + module_rel_path(module) + ".lean";
    if (file_exists(path)) return std::make_pair(&p, path);
  }
  return std::nullopt;
}

std::vector<std::string> Builder::root_modules() const {
  std::vector<std::string> out;
  std::error_code ec;
  const std::string& root = ws_.root;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_directory() && !name.empty() && name[0] == '.') {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->path().extension() != ".lean" || name == "lakefile.lean") continue;
    std::string rel = fs::relative(it->path(), root).replace_extension("").string();
    for (char& c : rel)
      if (c == '/') c = '.';
    out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

ModInfo Builder::build(const std::string& module) {
  if (auto it = memo_.find(module); it != memo_.end()) return it->second;
  if (auto at = std::find(in_progress_.begin(), in_progress_.end(), module); at != in_progress_.end()) {
    // Lake's wording: the cycle as a list of build keys, closed by its first one.
    std::string msg = "error: build cycle detected:";
    for (auto it = at; it != in_progress_.end(); ++it) msg += "\n  +" + *it + ":olean";
    log_(msg + "\n  +" + module + ":olean");
    return ModInfo{ModStatus::failed, "", ""};
  }
  auto src_loc = find_source(module);
  if (!src_loc) {
    // Not in the workspace: the toolchain library, or nowhere.
    std::string olean = toolchain_lib() + "/" + module_rel_path(module) + ".olean";
    ModInfo info{ModStatus::missing, "", ""};
    if (auto c = read_file(olean)) info = ModInfo{ModStatus::up_to_date, hash_hex({*c}), hash_hex({*c})};
    else log_("error: unknown module '" + module + "'");
    return memo_[module] = info;
  }
  in_progress_.push_back(module);
  const Package& pkg = *src_loc->first;
  std::string src = read_file(src_loc->second).value_or("");
  Header h = parse_header(src);
  std::vector<std::string> ifaces;
  ModStatus worst = ModStatus::up_to_date;
  for (const auto& imp : h.imports) {
    ModInfo i = build(imp.module);
    if (i.status == ModStatus::failed || i.status == ModStatus::missing) worst = ModStatus::failed;
    else if (i.status == ModStatus::stale && worst != ModStatus::failed) worst = ModStatus::stale;
    ifaces.push_back(i.iface_hash);
  }
  in_progress_.pop_back();
  if (worst != ModStatus::up_to_date) return memo_[module] = ModInfo{worst, "", ""};

  // depHash: toolchain, source, options and the imports' interface hashes.
  // Using interface (output) hashes rather than the imports' depHashes gives
  // Lake's early cutoff: an upstream rebuild with an identical olean changes
  // nothing downstream.
  std::vector<std::string> parts{"toolchain", lean_version(), ws_.toolchain, "src", hash_hex({src}), "opts", pkg.opts_key};
  parts.insert(parts.end(), ifaces.begin(), ifaces.end());
  std::string dep_hash = hash_hex(parts);
  std::string base = pkg.build_lib() + "/" + module_rel_path(module);
  json trace = json::parse(read_file(base + ".trace").value_or(""), nullptr, false);
  auto olean_hash = read_file(base + ".olean.hash");
  if (trace.is_object() && trace.value("depHash", "") == dep_hash && olean_hash && file_exists(base + ".olean")) {
    std::vector<std::string> ip{*olean_hash};
    ip.insert(ip.end(), ifaces.begin(), ifaces.end());
    return memo_[module] = ModInfo{ModStatus::up_to_date, dep_hash, hash_hex(ip)};
  }
  if (check_only_) return memo_[module] = ModInfo{ModStatus::stale, dep_hash, ""};
  return memo_[module] = compile(module, pkg, src_loc->second, src, h, dep_hash, ifaces);
}

ModInfo Builder::compile(const std::string& module, const Package& pkg, const std::string& src_path,
                         const std::string& src, const Header& h, const std::string& dep_hash,
                         const std::vector<std::string>& import_ifaces) {
  std::vector<std::string> sp = ws_.lean_path();
  sp.push_back(toolchain_lib());
  Loaded loaded = load_imports(h, sp);
  Env env = loaded.env;
  auto cmds = elaborate(src, h.end, env, pkg.opts);
  std::vector<Diag> all = h.diags;
  all.insert(all.end(), loaded.diags.begin(), loaded.diags.end());
  for (const auto& c : cmds) all.insert(all.end(), c.diags.begin(), c.diags.end());
  bool failed = false;
  json log = json::array();
  std::vector<std::string> lines;
  std::string rel = fs::relative(src_path, ws_.root).string();
  for (const auto& d : all) {
    if (d.silent) continue;
    failed |= d.severity == 1;
    const char* level = d.severity == 1 ? "error" : d.severity == 2 ? "warning" : "info";
    // Lake's log form: `level: file:line:col: message`.
    json at = lsp_pos(src, d.pos);
    std::string msg = rel + ":" + std::to_string(at["line"].get<int>() + 1) + ":" +
                      std::to_string(at["character"].get<int>()) + ": " + d.message;
    log.push_back({{"level", level}, {"message", msg}});
    lines.push_back(std::string(level) + ": " + msg);
  }
  ++built_;
  event("build", {{"module", module}, {"ok", !failed}});
  log_(std::string(failed ? "✖" : lines.empty() ? "✔" : "⚠") + " [" + std::to_string(built_) + "] " +
       (failed ? "Building " : "Built ") + module);
  for (const auto& l : lines) log_(l);
  if (failed) return ModInfo{ModStatus::failed, dep_hash, ""};

  std::string base = pkg.build_lib() + "/" + module_rel_path(module);
  std::string olean = make_olean(module, h, cmds).dump();
  std::string olean_hash = std::to_string(hash64(olean));
  json ilean{{"version", 4}, {"module", module}, {"references", json::object()}};
  for (const auto& c : cmds)
    if (!c.name.empty()) ilean["references"][c.name] = {{"definition", lsp_range(src, c.name_pos, c.name_end)}};
  json inputs = json::array({json::array({"toolchain", lean_version() + " " + ws_.toolchain}),
                             json::array({rel, hash_hex({src})}), json::array({"options", pkg.opts_key})});
  for (std::size_t i = 0; i < h.imports.size(); ++i) inputs.push_back(json::array({h.imports[i].module, import_ifaces[i]}));
  json trace{{"schemaVersion", "2025-09-10"},
             {"depHash", dep_hash},
             {"inputs", inputs},
             {"outputs", {{"o", olean_hash}, {"i", hash_hex({ilean.dump()})}}},
             {"log", log},
             {"synthetic", false}};
  // Outputs that cannot be written (a read-only workspace: `--sandbox`) fail
  // the module, as Lake's build does, with Lean's IO error.
  for (const auto& [file, content] : std::vector<std::pair<std::string, std::string>>{
           {base + ".olean", olean}, {base + ".ilean", ilean.dump()}, {base + ".olean.hash", olean_hash},
           {base + ".trace", trace.dump(2)}}) {
    errno = 0;
    if (write_file_atomic(file, content)) continue;
    log_("error: " + io_error_message(errno ? errno : EIO, file));
    return ModInfo{ModStatus::failed, dep_hash, ""};
  }
  std::vector<std::string> ip{olean_hash};
  ip.insert(ip.end(), import_ifaces.begin(), import_ifaces.end());
  return ModInfo{ModStatus::built, dep_hash, hash_hex(ip)};
}

}  // namespace leansim
