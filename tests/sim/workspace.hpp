// Lake's view of a workspace for the simulator: packages, the search path
// (LEAN_PATH), .olean loading, and `lake build` with traces and early cutoff.
#pragma once

#include "lang.hpp"
#include "sim_util.hpp"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace leansim {

struct Package {
  std::string name, root;
  Options opts;
  std::string opts_key;  ///< canonical options text, mixed into depHash
  std::string build_lib() const { return root + "/.lake/build/lib/lean"; }
};

struct Workspace {
  std::string root;
  std::string toolchain;          ///< contents of lean-toolchain (trimmed)
  std::vector<Package> packages;  ///< the root package first, then .lake/packages/*
  /// LEAN_PATH as `lake env` computes it: dependencies' build dirs, then the root's.
  std::vector<std::string> lean_path() const;
  std::vector<std::string> src_path() const;
  /// Package owning a source file (by path prefix), root package otherwise.
  const Package& package_of(const std::string& path) const;
};

/// The workspace whose root is `dir` (it has lakefile.toml or lakefile.lean).
std::optional<Workspace> load_workspace(const std::string& dir);

/// The toolchain's own library dir (`<sysroot>/lib/lean`), with the built-in
/// Init / Std modules materialised on first use.
std::string toolchain_lib();
/// Lean's search path: LEAN_PATH entries, then the toolchain library.
std::vector<std::string> search_path_from_env();

/// What importing a header produced.
struct Loaded {
  Env env;
  std::vector<std::string> modules;  ///< every module loaded (transitively), in load order
  std::vector<Diag> diags;           ///< unknown-module errors on the import lines
};
/// Resolves and reads the header's imports (transitively) as Lean's
/// `importModules` does; does not build anything.
Loaded load_imports(const Header& h, const std::vector<std::string>& search_path);

enum class ModStatus { up_to_date, built, stale, failed, missing };

struct ModInfo {
  ModStatus status = ModStatus::missing;
  std::string dep_hash;    ///< what the trace records
  std::string iface_hash;  ///< content of the olean and its imports': drives early cutoff
};

/// One `lake build` run. With check_only nothing is written and out-of-date
/// modules report `stale` (Lake's `--no-build`).
class Builder {
 public:
  Builder(const Workspace& ws, bool check_only, std::function<void(const std::string&)> log)
      : ws_(ws), check_only_(check_only), log_(std::move(log)) {}
  ModInfo build(const std::string& module);
  /// Every module of the root package (all .lean files outside .lake).
  std::vector<std::string> root_modules() const;
  int built_count() const { return built_; }

 private:
  std::optional<std::pair<const Package*, std::string>> find_source(const std::string& module) const;
  ModInfo compile(const std::string& module, const Package& pkg, const std::string& src_path,
                  const std::string& src, const Header& h, const std::string& dep_hash,
                  const std::vector<std::string>& import_ifaces);

  const Workspace& ws_;
  bool check_only_;
  std::function<void(const std::string&)> log_;
  std::map<std::string, ModInfo> memo_;
  std::vector<std::string> in_progress_;  ///< the import chain being built, for Lake's cycle report
  int built_ = 0;
};

/// `file:line:col: severity: msg` as `lean <file>` and Lake's logs print it.
std::string format_diag(const std::string& file, const std::string& text, const Diag& d);

}  // namespace leansim
