// Docs cannot go stale: every ```cpp block in docs/*.md must be compiled code, and every output
// block must be the checked output of the program it belongs to.
//
// A block right after "<!-- snippet: NAME.cpp -->" must equal docs/snippets/NAME.cpp (region marker
// lines dropped); after "<!-- snippet: NAME.cpp#REGION -->" the lines between "// [doc:REGION]" and
// "// [/doc]", dedented; after "<!-- output: NAME.cpp -->" docs/snippets/NAME.out, which ctest
// compares with the program's real stdout (docs/snippets/CMakeLists.txt). "<!-- test: PATH#REGION -->"
// (or "source:") names a region of a compiled file by its path from the repository root, e.g. a
// tests/test_*.cpp. An unmarked ```cpp block must appear verbatim (up to indentation) in a snippet
// or in the library's or examples' sources. tools/check_doc_snippets.py --update rewrites marked blocks.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = fs::path(CONVGRAD_TEST_DATA).parent_path().parent_path();
const fs::path kDocs = kRoot / "docs";
const fs::path kSnippets = kDocs / "snippets";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

bool is_blank(const std::string& s) { return trim(s).empty(); }

// "// [doc:NAME]" -> NAME; nullopt for any other line.
std::optional<std::string> region_open(const std::string& line) {
  const std::string t = trim(line);
  if (t.rfind("// [doc:", 0) != 0 || t.back() != ']') return std::nullopt;
  return t.substr(8, t.size() - 9);
}
bool region_close(const std::string& line) { return trim(line) == "// [/doc]"; }

std::vector<std::string> dedent(std::vector<std::string> lines) {
  size_t cut = std::string::npos;
  for (const auto& l : lines)
    if (!is_blank(l)) cut = std::min(cut, l.find_first_not_of(' '));
  for (auto& l : lines) l = is_blank(l) ? "" : l.substr(cut == std::string::npos ? 0 : cut);
  return lines;
}

/// A snippet file: its text without marker lines, and each region's dedented text.
struct Snippet {
  std::string whole;
  std::map<std::string, std::string> regions;
  std::string error;  // unclosed or stray markers
};

Snippet parse_snippet(const std::string& text) {
  Snippet s;
  std::vector<std::string> kept;
  std::map<std::string, std::vector<std::string>> open;  // regions may nest
  std::vector<std::string> stack;
  for (const auto& line : split_lines(text)) {
    if (auto name = region_open(line)) {
      stack.push_back(*name);
      open[*name];
    } else if (region_close(line)) {
      if (stack.empty()) {
        s.error = "a '// [/doc]' without its '// [doc:NAME]'";
        continue;
      }
      s.regions[stack.back()] = join_lines(dedent(open[stack.back()]));
      stack.pop_back();
    } else {
      kept.push_back(line);
      for (const auto& name : stack) open[name].push_back(line);
    }
  }
  if (!stack.empty()) s.error = "region '" + stack.back() + "' is never closed";
  s.whole = join_lines(kept);
  return s;
}

/// One fenced block of a markdown file and the marker line right before it, if any.
struct Block {
  int line = 0;      // 1-based line of the opening fence
  std::string lang;  // "cpp", "text", ...
  std::string kind;  // "snippet", "output" or "" when unmarked
  std::string ref;   // "NAME.cpp" or "NAME.cpp#REGION"
  std::string body;
};

std::vector<Block> parse_blocks(const std::string& markdown) {
  std::vector<Block> blocks;
  const auto lines = split_lines(markdown);
  std::string kind, ref;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trim(lines[i]);
    if (t.rfind("<!--", 0) == 0 && t.size() > 7 && t.substr(t.size() - 3) == "-->") {
      const std::string inner = trim(t.substr(4, t.size() - 7));
      for (const char* k : {"snippet:", "output:", "test:", "source:"}) {
        if (inner.rfind(k, 0) == 0) {
          kind = std::string(k, std::char_traits<char>::length(k) - 1);
          ref = trim(inner.substr(std::char_traits<char>::length(k)));
        }
      }
      continue;
    }
    if (lines[i].rfind("```", 0) == 0) {
      Block b{static_cast<int>(i + 1), trim(lines[i].substr(3)), kind, ref, ""};
      std::vector<std::string> body;
      for (++i; i < lines.size() && lines[i] != "```"; ++i) body.push_back(lines[i]);
      b.body = join_lines(body);
      blocks.push_back(b);
      kind.clear();
      ref.clear();
      continue;
    }
    if (!is_blank(lines[i])) kind.clear(), ref.clear();  // a marker binds only the next block
  }
  return blocks;
}

/// The text a marker names, or an error message starting with "error: ".
std::string marked_text(const std::string& kind, const std::string& ref) {
  const auto hash = ref.find('#');
  const std::string file = ref.substr(0, hash);
  // snippet/output name files in docs/snippets; test/source name any compiled file from the root.
  const bool in_snippets = kind == "snippet" || kind == "output";
  const fs::path path = (in_snippets ? kSnippets : kRoot) / file;
  const auto ext = path.extension();
  if (!(ext == ".cpp" || (!in_snippets && ext == ".h")) || !fs::exists(path))
    return "error: no compiled file " + path.string();
  if (kind == "output") {
    const fs::path out = kSnippets / (path.stem().string() + ".out");
    if (!fs::exists(out)) return "error: no expected output " + out.string();
    return read_file(out);
  }
  const Snippet s = parse_snippet(read_file(path));
  if (!s.error.empty()) return "error: " + file + ": " + s.error;
  if (hash == std::string::npos) return s.whole;
  const auto it = s.regions.find(ref.substr(hash + 1));
  if (it == s.regions.end()) return "error: " + file + " has no region '" + ref.substr(hash + 1) + "'";
  return it->second;
}

// True when `block`'s lines appear consecutively in `source`, all shifted by one same indentation.
bool appears_in(const std::vector<std::string>& block, const std::vector<std::string>& source) {
  if (block.empty() || block.size() > source.size()) return false;
  for (size_t start = 0; start + block.size() <= source.size(); ++start) {
    const std::string& first = source[start];
    if (first.size() < block[0].size() ||
        first.compare(first.size() - block[0].size(), block[0].size(), block[0]) != 0)
      continue;
    const std::string indent = first.substr(0, first.size() - block[0].size());
    if (!is_blank(indent)) continue;
    bool match = true;
    for (size_t k = 1; k < block.size() && match; ++k)
      match = is_blank(block[k]) ? is_blank(source[start + k]) : source[start + k] == indent + block[k];
    if (match) return true;
  }
  return false;
}

// Where an unmarked C++ block may come from: snippets and the compiled library and examples.
std::vector<fs::path> compiled_sources() {
  std::vector<fs::path> files;
  for (const char* dir : {"docs/snippets", "core", "autograd", "layers", "examples"}) {
    if (!fs::exists(kRoot / dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(kRoot / dir)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".cpp" || ext == ".h")) files.push_back(e.path());
    }
  }
  return files;
}

std::vector<fs::path> markdown_docs() {
  std::vector<fs::path> docs;
  for (const auto& e : fs::directory_iterator(kDocs))
    if (e.path().extension() == ".md") docs.push_back(e.path());
  std::sort(docs.begin(), docs.end());
  docs.push_back(kRoot / "README.md");  // the README's program is held to the same rule
  return docs;
}

bool is_cpp(const std::string& lang) { return lang == "cpp" || lang == "c++" || lang == "cxx"; }

}  // namespace

TEST_CASE("snippet regions and markers are parsed as documented") {
  const Snippet s = parse_snippet(
      "#include <x>\n// [doc:f]\nint f() {\n  // [doc:body]\n  return 1;\n  // [/doc]\n}\n// [/doc]\n");
  CHECK(s.error.empty());
  CHECK(s.whole == "#include <x>\nint f() {\n  return 1;\n}\n");
  CHECK(s.regions.at("f") == "int f() {\n  return 1;\n}\n");
  CHECK(s.regions.at("body") == "return 1;\n");  // dedented
  CHECK(parse_snippet("// [doc:a]\nx\n").error == "region 'a' is never closed");

  const auto blocks = parse_blocks(
      "text\n<!-- snippet: a.cpp#f -->\n\n```cpp\nint f();\n```\nprose\n```cpp\ng();\n```\n"
      "<!-- output: a.cpp -->\nprose in between\n```text\n1\n```\n");
  REQUIRE(blocks.size() == 3);
  CHECK(blocks[0].kind == "snippet");
  CHECK(blocks[0].ref == "a.cpp#f");
  CHECK(blocks[0].line == 4);
  CHECK(blocks[0].body == "int f();\n");
  CHECK(blocks[1].kind.empty());  // unmarked
  CHECK(blocks[2].kind.empty());  // the marker was separated from the block by prose
  const auto marked = parse_blocks("<!-- test: tests/x.cpp#use -->\n```cpp\ny();\n```\n");
  REQUIRE(marked.size() == 1);
  CHECK(marked[0].kind == "test");
  CHECK(marked[0].ref == "tests/x.cpp#use");
  CHECK(appears_in({"return 1;", "", "}"}, {"int f() {", "    return 1;", "", "    }"}));
  CHECK_FALSE(appears_in({"return 1;", "}"}, {"int f() {", "    return 1;", "  }"}));
}

TEST_CASE("every C++ block in docs is a compiled snippet or verbatim compiled code") {
  REQUIRE(fs::exists(kDocs / "getting-started.md"));
  REQUIRE(fs::exists(kDocs / "tutorial.md"));
  std::vector<std::vector<std::string>> sources;
  for (const auto& f : compiled_sources()) sources.push_back(split_lines(read_file(f)));
  int checked = 0;
  for (const auto& doc : markdown_docs()) {
    for (const auto& b : parse_blocks(read_file(doc))) {
      const std::string where = doc.filename().string() + ":" + std::to_string(b.line);
      if (b.kind == "snippet" || b.kind == "test" || b.kind == "source") {
        const std::string want = marked_text(b.kind, b.ref);
        CHECK_MESSAGE(want.rfind("error: ", 0) != 0, where << ": " << want);
        CHECK_MESSAGE(b.body == want, where << ": block differs from " << b.kind << " " << b.ref
                                            << "; run tools/check_doc_snippets.py --update\n--- file ---\n"
                                            << want << "--- doc ---\n"
                                            << b.body);
        ++checked;
      } else if (is_cpp(b.lang)) {
        const auto lines = split_lines(b.body);
        const bool found = std::any_of(sources.begin(), sources.end(),
                                       [&](const auto& src) { return appears_in(lines, src); });
        CHECK_MESSAGE(found, where << ": this C++ block is not compiled anywhere. Put it in "
                                      "docs/snippets/NAME.cpp (or a '// [doc:REGION]' of one) and mark "
                                      "the block with <!-- snippet: NAME.cpp#REGION -->, or quote the "
                                      "library's code verbatim.\n"
                                   << b.body);
        ++checked;
      }
    }
  }
  CHECK(checked >= 10);  // the tutorial alone has more; a parser that finds nothing must fail
}

TEST_CASE("every output block in docs is the checked output of its snippet") {
  int checked = 0;
  for (const auto& doc : markdown_docs()) {
    for (const auto& b : parse_blocks(read_file(doc))) {
      if (b.kind != "output") continue;
      const std::string where = doc.filename().string() + ":" + std::to_string(b.line);
      const std::string want = marked_text(b.kind, b.ref);
      CHECK_MESSAGE(want.rfind("error: ", 0) != 0, where << ": " << want);
      CHECK_MESSAGE(b.body == want, where << ": output differs from the expected output of " << b.ref
                                          << "; run tools/check_doc_snippets.py --update");
      ++checked;
    }
  }
  CHECK(checked >= 7);
}

TEST_CASE("every snippet has well-formed regions and an expected output that ctest checks") {
  int snippets = 0;
  for (const auto& e : fs::directory_iterator(kSnippets)) {
    if (e.path().extension() != ".cpp") continue;
    ++snippets;
    const Snippet s = parse_snippet(read_file(e.path()));
    CHECK_MESSAGE(s.error.empty(), e.path().filename().string() << ": " << s.error);
    const fs::path out = kSnippets / (e.path().stem().string() + ".out");
    CHECK_MESSAGE(fs::exists(out), out.string()
                                       << " is missing: run tools/check_doc_snippets.py --outputs BUILD_DIR");
  }
  CHECK(snippets >= 7);
}
