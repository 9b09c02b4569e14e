// Tensor printing that reproduces PyTorch 1.13's torch/_tensor_str.py with default print options
// (precision 4, threshold 1000, edgeitems 3, linewidth 80), minus the requires_grad/grad_fn suffixes.
#include "core/print.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <new>

namespace convgrad {

namespace {

constexpr int kPrecision = 4;
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr int64_t kLineWidth = 80;

// printf-style formatting of one double, with Python's spelling of non-finite values.
// `conv` is 'f' or 'e'; `precision` digits after the point; right-aligned to `width`.
std::string py_format(double v, char conv, int precision, int width = 0) {
  std::string s;
  if (std::isnan(v)) {
    s = "nan";
  } else if (std::isinf(v)) {
    s = v > 0 ? "inf" : "-inf";
  } else {
    char spec[] = {'%', '.', '*', conv, '\0'};
    char buf[512];
    std::snprintf(buf, sizeof buf, spec, precision, v);
    s = buf;
  }
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), ' ');
  return s;
}

// PyTorch's _Formatter: picks integer, fixed or scientific notation from all printed values, and the
// common width every element is right-aligned to.
class Formatter {
 public:
  /// Integer tensors: every element is right-aligned to the widest one.
  explicit Formatter(int int_width) : floating_(false), max_width_(std::max(1, int_width)) {}

  /// Floating tensors: the mode and width follow from the values shown.
  explicit Formatter(const std::vector<double>& values) : floating_(true) {
    std::vector<double> finite;
    for (double v : values)
      if (std::isfinite(v) && v != 0.0) finite.push_back(v);
    if (finite.empty()) return;
    double lo = INFINITY, hi = 0.0;
    for (double v : finite) {
      lo = std::min(lo, std::abs(v));
      hi = std::max(hi, std::abs(v));
      if (v != std::ceil(v)) int_mode_ = false;
    }
    // Integers switch to scientific only for a wide range or huge values; fractions also for tiny ones.
    sci_mode_ = hi / lo > 1000.0 || hi > 1.0e8 || (!int_mode_ && lo < 1.0e-4);
    for (double v : finite) {
      int w = sci_mode_   ? static_cast<int>(py_format(v, 'e', kPrecision).size())
              : int_mode_ ? static_cast<int>(py_format(v, 'f', 0).size()) + 1
                          : static_cast<int>(py_format(v, 'f', kPrecision).size());
      max_width_ = std::max(max_width_, w);
    }
  }

  bool floating() const { return floating_; }
  int width() const { return max_width_; }

  /// A float32 value in the chosen notation, padded to the common width.
  std::string format(double v) const {
    std::string s;
    if (sci_mode_) {
      s = py_format(v, 'e', kPrecision);
    } else if (int_mode_) {
      // A trailing '.' marks whole-valued floats (not after inf/nan).
      s = py_format(v, 'f', 0) + (std::isfinite(v) ? "." : "");
    } else {
      s = py_format(v, 'f', kPrecision);
    }
    if (static_cast<int>(s.size()) < max_width_) s.insert(0, static_cast<size_t>(max_width_) - s.size(), ' ');
    return s;
  }

 private:
  bool floating_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  int max_width_ = 1;
};

// The recursive layout of _tensor_str_with_formatter. It reads the elements where the view keeps them
// (a position is an element offset from the view's first element, through its strides), so printing a
// large expanded or strided view touches only the elements shown.
struct Printer {
  Shape shape;
  Shape strides;
  const float* values = nullptr;  // float32 tensors
  const int64_t* ints = nullptr;  // int64 tensors
  bool summarize = false;

  double value(int64_t pos) const { return static_cast<double>(values[pos]); }

  std::string element(int64_t pos, const Formatter& f) const {
    if (!f.floating()) {
      std::string s = std::to_string(ints[pos]);
      if (static_cast<int>(s.size()) < f.width()) s.insert(0, static_cast<size_t>(f.width()) - s.size(), ' ');
      return s;
    }
    return f.format(value(pos));
  }

  // Indices printed along a dim of size n: all, or the first and last kEdgeItems around a gap (-1).
  std::vector<int64_t> shown(int64_t n) const {
    std::vector<int64_t> idx;
    if (summarize && n > 2 * kEdgeItems) {
      for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
      idx.push_back(-1);
      for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    } else {
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  // Positions of every element the formatter sees (get_summarized_data).
  void collect(size_t d, int64_t base, std::vector<int64_t>& out) const {
    if (d == shape.size()) {
      out.push_back(base);
      return;
    }
    for (int64_t i : shown(shape[d]))
      if (i >= 0) collect(d + 1, base + i * strides[d], out);
  }

  std::string vector_str(int64_t base, int64_t indent, const Formatter& f) const {
    int64_t per_line = std::max<int64_t>(1, (kLineWidth - indent) / (f.width() + 2));
    std::vector<std::string> items;
    for (int64_t i : shown(shape.back()))
      items.push_back(i < 0 ? " ..." : element(base + i * strides.back(), f));
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0 && i % per_line == 0)
        out.append(",\n").append(static_cast<size_t>(indent) + 1, ' ');
      else if (i > 0)
        out.append(", ");
      out += items[i];
    }
    return out + "]";
  }

  std::string tensor_str(size_t d, int64_t base, int64_t indent, const Formatter& f) const {
    if (d + 1 == shape.size()) return vector_str(base, indent, f);
    size_t remaining = shape.size() - d;
    std::string sep(1, ',');
    sep.append(remaining - 1, '\n').append(static_cast<size_t>(indent) + 1, ' ');
    std::string out = "[";
    bool first = true;
    for (int64_t i : shown(shape[d])) {
      if (!first) out += sep;
      first = false;
      out += i < 0 ? "..." : tensor_str(d + 1, base + i * strides[d], indent + 1, f);
    }
    return out + "]";
  }
};

std::string shape_tuple(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// _add_suffixes: ", suffix" on the last line, or on a new line when it would pass the line width.
std::string add_suffixes(std::string str, const std::vector<std::string>& suffixes, int64_t indent) {
  // Python's len(s) - s.rfind('\n') + 1, where rfind gives -1 when there is no newline.
  size_t nl = str.rfind('\n');
  int64_t nl_pos = nl == std::string::npos ? -1 : static_cast<int64_t>(nl);
  int64_t last_line = static_cast<int64_t>(str.size()) - nl_pos + 1;
  for (const auto& s : suffixes) {
    int64_t len = static_cast<int64_t>(s.size());
    if (last_line + len + 2 > kLineWidth) {
      str += ",\n" + std::string(static_cast<size_t>(indent), ' ') + s;
      last_line = indent + len;
    } else {
      str += ", " + s;
      last_line += len + 2;
    }
  }
  return str + ")";
}

std::string format_tensor(const Tensor& t) {
  const std::string prefix = "tensor(";
  const int64_t indent = static_cast<int64_t>(prefix.size());
  // PyTorch formats a bfloat16 tensor's values as float32 and names the dtype after them.
  if (t.dtype() == DType::BFloat16) {
    Tensor f = t.to(DType::Float32);
    std::string body = "[]";
    if (t.numel() != 0) {
      body = format_tensor(f).substr(prefix.size());
      body.pop_back();  // the ")" closing format_tensor's result
    }
    std::vector<std::string> suffixes;
    if (t.numel() == 0 && t.dim() != 1) suffixes.push_back("size=" + shape_tuple(t.shape()));
    suffixes.push_back("dtype=torch.bfloat16");
    return add_suffixes(prefix + body, suffixes, indent);
  }
  bool floating = t.dtype() == DType::Float32;
  std::vector<std::string> suffixes;
  if (t.numel() == 0) {
    // PyTorch spells out the shape unless it is (0,), and the dtype since no value shows it.
    if (t.dim() != 1) suffixes.push_back("size=" + shape_tuple(t.shape()));
    if (!floating) suffixes.push_back("dtype=torch.int64");
    return add_suffixes(prefix + "[]", suffixes, indent);
  }
  Printer p;
  p.shape = t.shape();
  p.strides = t.strides();
  p.summarize = t.numel() > kThreshold;
  if (floating)
    p.values = t.data<float>();
  else
    p.ints = t.data<int64_t>();
  // The formatter sees only what will be printed (PyTorch's get_summarized_data).
  std::vector<int64_t> positions;
  p.collect(0, 0, positions);
  std::string body;
  if (floating) {
    std::vector<double> seen;
    seen.reserve(positions.size());
    for (int64_t pos : positions) seen.push_back(p.value(pos));
    Formatter f(seen);
    body = t.dim() == 0 ? f.format(p.value(0)) : p.tensor_str(0, 0, indent, f);
  } else {
    int width = 1;
    for (int64_t pos : positions)
      width = std::max(width, static_cast<int>(std::to_string(p.ints[pos]).size()));
    Formatter f(width);
    body = t.dim() == 0 ? p.element(0, f) : p.tensor_str(0, 0, indent, f);
  }
  return add_suffixes(prefix + body, suffixes, indent);
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  try {
    return format_tensor(t);
  } catch (const std::bad_alloc&) {
    // Only a view whose every dim is too short to summarise (at most 6) can print this many values.
    fail(
        "to_string: not enough memory to print a tensor of shape {} ({} elements, none summarised); print a "
        "slice of it",
        shape_str(t.shape()), t.numel());
  }
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace convgrad
