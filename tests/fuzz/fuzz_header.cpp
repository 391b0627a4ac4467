// Fuzzes Lean header parsing (lean/header) and module → path mapping
// (what the cache's dependency fingerprint does with each import): no crash
// and no hang on any text; `end` within the text; the header parsed from the
// text cut at `end` is the same header; comments and blank lines in front do
// not change imports or signature (they change no cache key).
#include <string>

#include "fuzz_common.hpp"
#include "leanproxy/lean/header.hpp"

namespace lean = leanproxy::lean;

namespace {

std::string describe(const lean::Header& h) {
  std::string s = "module=" + std::to_string(h.is_module) + " prelude=" + std::to_string(h.prelude) +
                  " end=" + std::to_string(h.end) + " signature=" + fuzz::show(h.signature) + " imports:";
  for (auto& i : h.imports) s += " " + fuzz::show(i);
  return s;
}

bool same(const lean::Header& a, const lean::Header& b) {
  return a.is_module == b.is_module && a.prelude == b.prelude && a.imports == b.imports && a.signature == b.signature;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lean::Header h = lean::parse_header(text);
  FUZZ_CHECK(h.end <= text.size(), "header end beyond the text: " + describe(h));
  for (auto& imp : h.imports) {
    FUZZ_CHECK(!imp.empty(), "empty import name");
    FUZZ_CHECK(h.signature.find(imp) != std::string::npos, "import missing from the signature: " + describe(h));
    // The dependency fingerprint maps every import to a relative path.
#ifdef LEANPROXY_FUZZ_SKIP_KNOWN
    if (imp.find("\xc2\xab") != std::string::npos) continue;  // module_to_path: unclosed « loops
#endif
    std::string path = lean::module_to_path(imp);
    FUZZ_CHECK(path.size() <= imp.size(), "module_to_path grew the name: " + fuzz::show(imp) + " -> " + fuzz::show(path));
  }

  lean::Header cut = lean::parse_header(text.substr(0, h.end));
  FUZZ_CHECK(same(h, cut) && cut.end == h.end,
             "the text cut at the header's end parses differently: " + describe(h) + " vs " + describe(cut));

  static const std::string prefixes[] = {"-- a comment\n", "\n\n  \t", "/- doc -/\n", "/- /- nested -/ -/ "};
  const std::string& pre = prefixes[fuzz::hash(text) % 4];
  lean::Header shifted = lean::parse_header(pre + std::string(text));
  FUZZ_CHECK(same(h, shifted), "a comment in front changes the header: " + describe(h) + " vs " + describe(shifted));
  if (!h.signature.empty()) FUZZ_CHECK(shifted.end == h.end + pre.size(), "a comment in front moves end wrongly");
  return 0;
}
