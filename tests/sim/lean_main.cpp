// The simulated `lean` executable: --version, --server (watchdog),
// --worker <uri> (file worker) and `lean <file>.lean` (batch check).
#include "lang.hpp"
#include "server.hpp"
#include "workspace.hpp"

#include <iostream>
#include <string>
#include <vector>

using namespace leansim;

namespace {

int check_file(const std::string& file, const Options& opts) {
  auto text = read_file(file);
  if (!text) {
    std::cerr << "file not found: " << file << "\n";
    return 1;
  }
  Header h = parse_header(*text);
  std::vector<Diag> all = h.diags;
  Loaded loaded = load_imports(h, search_path_from_env());
  all.insert(all.end(), loaded.diags.begin(), loaded.diags.end());
  if (loaded.diags.empty()) {
    Env env = loaded.env;
    for (const auto& c : elaborate(*text, h.end, env, opts)) all.insert(all.end(), c.diags.begin(), c.diags.end());
  }
  bool error = false;
  for (const auto& d : all) {
    if (d.silent) continue;
    error |= d.severity == 1;
    std::cout << format_diag(file, *text, d) << "\n";
  }
  return error ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // elan's toolchain selector (`lean +leanprover/lean4:v4.28.0 --server`, as
  // vscode-lean4 passes for some files): this is the only toolchain, so ignore it.
  if (!args.empty() && args[0].rfind("+", 0) == 0) args.erase(args.begin());
  if (args.empty()) {
    std::cerr << "usage: lean [--version | --server | --worker <uri> | <file>.lean]\n";
    return 1;
  }
  if (args[0] == "--version" || args[0] == "-v") {
    std::cout << "Lean (version " << lean_version() << ", x86_64-unknown-linux-gnu, commit " << lean_githash()
              << ", Release)\n";
    return 0;
  }
  if (args[0] == "--server") return watchdog_main();
  if (args[0] == "--worker" && args.size() >= 2) return worker_main(args[1]);
  if (args[0] == "--print-prefix") {
    std::string lib = toolchain_lib();
    std::cout << lib.substr(0, lib.size() - std::string("/lib/lean").size()) << "\n";
    return 0;
  }
  Options opts;
  std::string file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "-D" && i + 1 < args.size()) a = "-D" + args[++i];
    if (a == "-Dsim.strictSorry=true") opts.strict_sorry = true;
    else if (a.rfind("-", 0) != 0) file = a;
  }
  if (file.empty()) {
    std::cerr << "lean: no input file\n";
    return 1;
  }
  return check_file(file, opts);
}
