#include "sr_checkpoint.h"

#include <map>
#include <utility>
#include <vector>

#include "core/factory.h"
#include "core/npy.h"

namespace convgrad::upsample {
namespace {

Tensor scalar_i64(int64_t v) { return from_vector(std::vector<int64_t>{v}, Shape{}); }

Tensor text_i64(const std::string& s) {
  std::vector<int64_t> codes(s.begin(), s.end());
  return from_vector(codes, Shape{static_cast<int64_t>(codes.size())});
}

// The metadata entry `key` as one integer; a missing entry or a wrong dtype / size is an error.
int64_t meta_int(const std::map<std::string, Tensor>& meta, const std::string& key, const std::string& path) {
  auto it = meta.find(key);
  CONVGRAD_CHECK(
      it != meta.end(),
      "upsample: '{}' has no '{}{}' entry: it is not an upsample checkpoint (save one with `upsample train "
      "--save`)",
      path, kMetaPrefix, key);
  const Tensor& t = it->second;
  CONVGRAD_CHECK(t.dtype() == DType::Int64 && t.numel() == 1,
                 "upsample: '{}': '{}{}' must be one int64, got {} of shape {}", path, kMetaPrefix, key,
                 dtype_name(t.dtype()), shape_str(t.shape()));
  return t.to_vector<int64_t>()[0];
}

std::string meta_text(const std::map<std::string, Tensor>& meta, const std::string& key,
                      const std::string& path) {
  auto it = meta.find(key);
  CONVGRAD_CHECK(it != meta.end() && it->second.dtype() == DType::Int64 && it->second.dim() == 1,
                 "upsample: '{}' has no int64 '{}{}' entry: it is not an upsample checkpoint", path,
                 kMetaPrefix, key);
  std::string s;
  for (int64_t c : it->second.to_vector<int64_t>()) {
    CONVGRAD_CHECK(c > 0 && c < 128, "upsample: '{}': '{}{}' holds a non-ASCII code {}", path, kMetaPrefix,
                   key, c);
    s.push_back(static_cast<char>(c));
  }
  return s;
}

}  // namespace

void save_sr_checkpoint(const SrModel& model, const std::string& path, int64_t steps) {
  const SrConfig& c = model.config();
  std::vector<std::pair<std::string, Tensor>> entries = model.state_dict();
  const std::string p = kMetaPrefix;
  entries.emplace_back(p + "format", scalar_i64(kMetaFormat));
  entries.emplace_back(p + "arch", text_i64(c.arch));
  entries.emplace_back(p + "scale", scalar_i64(c.scale));
  entries.emplace_back(p + "channels", scalar_i64(c.channels));
  entries.emplace_back(p + "residual", scalar_i64(c.residual ? 1 : 0));
  entries.emplace_back(p + "d", scalar_i64(c.d));
  entries.emplace_back(p + "s", scalar_i64(c.s));
  entries.emplace_back(p + "m", scalar_i64(c.m));
  entries.emplace_back(p + "steps", scalar_i64(steps));
  save_npz(path, entries);
}

LoadedModel load_sr_checkpoint(const std::string& path) {
  std::map<std::string, Tensor> all = load_npz(path), meta, state;
  const std::string prefix = kMetaPrefix;
  for (auto& [name, t] : all) {
    if (name.rfind(prefix, 0) == 0)
      meta.emplace(name.substr(prefix.size()), t);
    else
      state.emplace(name, t);
  }
  const int64_t format = meta_int(meta, "format", path);
  CONVGRAD_CHECK(format == kMetaFormat,
                 "upsample: '{}' has metadata format {}; this upsample reads format {}", path, format,
                 kMetaFormat);
  SrConfig c;
  c.arch = meta_text(meta, "arch", path);
  c.scale = meta_int(meta, "scale", path);
  c.channels = meta_int(meta, "channels", path);
  c.residual = meta_int(meta, "residual", path) != 0;
  c.d = meta_int(meta, "d", path);
  c.s = meta_int(meta, "s", path);
  c.m = meta_int(meta, "m", path);
  try {
    validate(c);
  } catch (const Error& e) {
    fail("upsample: '{}' describes a model this upsample cannot build: {}", path, e.what());
  }
  LoadedModel out;
  out.steps = meta.count("steps") ? meta_int(meta, "steps", path) : 0;
  Generator gen(0);
  out.model = make_sr_model(c, gen);
  std::vector<std::string> problems = out.model->check_state_dict(state);
  if (!problems.empty()) {
    std::string lines;
    for (const auto& pr : problems) lines += "\n  " + pr;
    fail("upsample: the weights in '{}' do not fit the {} its metadata describes ({} problem(s)):{}", path,
         out.model->name(), problems.size(), lines);
  }
  out.model->load_state_dict(state);
  out.model->eval();
  return out;
}

}  // namespace convgrad::upsample
