// Terminal report of the tutorial: layout, colours and the check counters.
#include "report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace tutorial {
namespace {

constexpr size_t kIndent = 4;       // prose and tensors sit under the section number
constexpr size_t kLabelWidth = 13;  // column where a shown value starts
constexpr size_t kMaxWidth = 110;   // side by side only when both columns fit

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    size_t end = text.find('\n', start);
    lines.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return lines;
    start = end + 1;
  }
}

size_t widest(const std::vector<std::string>& lines) {
  size_t w = 0;
  for (const auto& l : lines) w = std::max(w, l.size());
  return w;
}

// Prints `label` padded to the value column, then the value's lines aligned under the first one.
// A label too long for the column goes on its own line when the value spans several lines.
void print_block(std::string_view label, const std::vector<std::string>& lines) {
  const std::string pad(kIndent, ' ');
  const std::string hang(kIndent + kLabelWidth, ' ');
  const bool fits = label.size() < kLabelWidth;
  if (!fits && lines.size() == 1) {
    fmt::print("{}{}  {}\n", pad, label, lines[0]);
    return;
  }
  if (!fits) fmt::print("{}{}\n", pad, label);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 0 && fits)
      fmt::print("{}{:<{}}{}\n", pad, label, kLabelWidth, lines[i]);
    else
      fmt::print("{}{}\n", hang, lines[i]);
  }
}

void bool_nested(const std::vector<float>& v, const convgrad::Shape& s, size_t d, size_t& pos, size_t width,
                 std::string& out) {
  if (d == s.size()) {
    std::string word = v[pos++] != 0.f ? "True" : "False";
    out += std::string(width - word.size(), ' ') + word;
    return;
  }
  out += '[';
  for (int64_t i = 0; i < s[d]; ++i) {
    if (i > 0) {
      out += ',';
      if (d + 1 == s.size()) {
        out += ' ';
      } else {
        out += std::string(s.size() - d - 1, '\n');
        out += std::string(7 + d + 1, ' ');  // 7 = strlen("tensor(")
      }
    }
    bool_nested(v, s, d + 1, pos, width, out);
  }
  out += ']';
}

}  // namespace

Report::Report() { color_ = isatty(fileno(stdout)) && std::getenv("NO_COLOR") == nullptr; }

std::string Report::paint(std::string_view code, std::string_view text) const {
  if (!color_) return std::string(text);
  return fmt::format("\033[{}m{}\033[0m", code, text);
}

void Report::title(std::string_view text, std::string_view subtitle) {
  const std::string rule(std::max(text.size(), subtitle.size()) + 4, '=');
  fmt::print("{}\n  {}\n  {}\n{}\n", rule, paint("1", text), paint("2", subtitle), rule);
}

void Report::section(std::string_view number, std::string_view title) {
  std::string head = fmt::format("{}. {} ", number, title);
  const size_t fill = head.size() < 72 ? 72 - head.size() : 3;
  std::string rule;
  for (size_t i = 0; i < fill; ++i) rule += "─";
  fmt::print("\n{} {}\n", paint("1;36", head), paint("2", rule));
}

void Report::subsection(std::string_view title) {
  fmt::print("\n  {} {}\n", paint("1;36", "▸"), paint("1", title));
}

void Report::text(std::string_view line) {
  if (line.empty())
    fmt::print("\n");
  else
    fmt::print("{}{}\n", std::string(kIndent, ' '), line);
}

void Report::show(std::string_view label, const convgrad::Tensor& t) {
  print_block(label, split_lines(convgrad::to_string(t)));
}

void Report::show(std::string_view label, std::string_view value) { print_block(label, split_lines(value)); }

bool Report::compare(std::string_view what, const convgrad::Tensor& got, std::string_view got_label,
                     const convgrad::Tensor& expected, std::string_view expected_label) {
  const auto left = split_lines(convgrad::to_string(got));
  const auto right = split_lines(convgrad::to_string(expected));
  const size_t column = std::max(widest(left), got_label.size()) + 4;
  if (kIndent + kLabelWidth + column + widest(right) <= kMaxWidth) {
    // Side by side: "convgrad" column, then the reference column, on the same rows.
    const std::string pad(kIndent + kLabelWidth, ' ');
    fmt::print("{}{}{}\n", pad, paint("2", fmt::format("{:<{}}", got_label, column)),
               paint("2", expected_label));
    for (size_t i = 0; i < std::max(left.size(), right.size()); ++i) {
      const std::string l = i < left.size() ? left[i] : "";
      const std::string r = i < right.size() ? right[i] : "";
      fmt::print("{}{:<{}}{}\n", pad, l, column, r);
    }
  } else {
    print_block(got_label, left);
    print_block(expected_label, right);
  }
  const bool ok = got.shape() == expected.shape() && convgrad::allclose(got, expected, 1e-5, 1e-5);
  std::string detail = ok ? ""
                       : got.shape() == expected.shape()
                           ? "  (values differ)"
                           : fmt::format("  (shape {} vs {})", convgrad::shape_str(got.shape()),
                                         convgrad::shape_str(expected.shape()));
  return expect(ok, fmt::format("{}{}", what, detail));
}

bool Report::expect(bool ok, std::string_view what) {
  (ok ? passed_ : failed_) += 1;
  fmt::print("{}{} {}\n", std::string(kIndent, ' '), ok ? paint("1;32", "✓") : paint("1;31", "✗"),
             ok ? std::string(what) : paint("31", what));
  return ok;
}

int Report::summary() {
  const int64_t total = passed_ + failed_;
  fmt::print("\n");
  if (failed_ == 0) {
    fmt::print("{}\n", paint("1;32", fmt::format("✓ All {} checks passed.", total)));
    return 0;
  }
  fmt::print("{}\n", paint("1;31", fmt::format("✗ {} of {} checks FAILED.", failed_, total)));
  return 1;
}

std::string size_str(const convgrad::Shape& shape) {
  std::string out = "torch.Size([";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "])";
}

std::string bool_str(const convgrad::Tensor& mask) {
  const std::vector<float> v = mask.to_vector<float>();
  const bool any_false = std::any_of(v.begin(), v.end(), [](float x) { return x == 0.f; });
  std::string out = "tensor(";
  size_t pos = 0;
  bool_nested(v, mask.shape(), 0, pos, any_false ? 5 : 4, out);
  return out + ")";
}

}  // namespace tutorial
