// docs/ops.md lists every differentiable op: each function an autograd/ops_*.h header (losses included)
// or layers/loss.h declares must appear there, and every source file the page names must exist, so adding
// an op without its row (or moving a file) fails here.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = fs::path(CONVGRAD_TEST_DATA).parent_path().parent_path();

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The names of the functions returning a Tensor that `header` declares at the start of a line.
std::set<std::string> declared_ops(const std::string& header) {
  std::set<std::string> names;
  const std::regex decl(R"((^|\n)Tensor ([a-z_0-9]+)\()");
  for (auto it = std::sregex_iterator(header.begin(), header.end(), decl); it != std::sregex_iterator(); ++it)
    names.insert((*it)[2]);
  return names;
}

// Whether the page mentions `name` as code: "`name(", "`name`" or "`name,".
bool mentioned(const std::string& page, const std::string& name) {
  for (const char* end : {"(", "`", ","})
    if (page.find("`" + name + end) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("the parser finds declarations and mentions") {
  CHECK(declared_ops("// x\nTensor relu(const Tensor& x);\n  Tensor not_at_line_start(int);\nint n();\n") ==
        std::set<std::string>{"relu"});
  CHECK(mentioned("| `relu(x)` |", "relu"));
  CHECK_FALSE(mentioned("| `leaky_relu(x)` |", "relu"));
}

TEST_CASE("docs/ops.md names every differentiable op the headers declare") {
  const std::string page = read_file(kRoot / "docs" / "ops.md");
  std::vector<fs::path> headers;
  if (fs::exists(kRoot / "layers" / "loss.h")) headers.push_back(kRoot / "layers" / "loss.h");
  for (const auto& e : fs::directory_iterator(kRoot / "autograd")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ops_", 0) == 0 && e.path().extension() == ".h") headers.push_back(e.path());
  }
  int ops = 0;
  for (const auto& h : headers)
    for (const std::string& op : declared_ops(read_file(h))) {
      CHECK_MESSAGE(mentioned(page, op),
                    op << " (" << h.filename().string()
                       << ") is not in docs/ops.md: add its row (saves, gradient, file)");
      ++ops;
    }
  CHECK(ops >= 60);  // a parser that finds nothing must fail
}

TEST_CASE("every source file docs/ops.md names exists") {
  const std::string page = read_file(kRoot / "docs" / "ops.md");
  const std::regex path(R"(`((autograd|core|layers)/[a-z_0-9/]+\.(cpp|h))`)");
  int files = 0;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), path); it != std::sregex_iterator();
       ++it, ++files)
    CHECK_MESSAGE(fs::exists(kRoot / (*it)[1].str()), (*it)[1].str()
                                                          << " is named by docs/ops.md but does not exist");
  CHECK(files >= 15);
}
