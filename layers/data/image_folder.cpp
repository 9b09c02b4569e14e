#include "layers/data/image_folder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <new>

namespace convgrad::data {
namespace fs = std::filesystem;

struct ImageFolder::State {
  std::mutex mutex;
  std::vector<Tensor> cache;  // decoded images, when cache_in_memory
  std::vector<char> bad;      // 1 once a file was found bad (its warning or error already given)
};

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> normalized_extensions(const std::vector<std::string>& given) {
  CONVGRAD_CHECK(!given.empty(),
                 "ImageFolder: the extensions list is empty; give at least one, e.g. {{\".png\"}}");
  std::vector<std::string> out;
  for (const auto& e : given) {
    CONVGRAD_CHECK(!e.empty() && e != ".",
                   "ImageFolder: an extension is empty; write them as \".png\" or \"png\"");
    out.push_back(lower(e[0] == '.' ? e : "." + e));
  }
  return out;
}

bool has_extension(const fs::path& p, const std::vector<std::string>& extensions) {
  const std::string name = lower(p.filename().string());
  return std::any_of(extensions.begin(), extensions.end(), [&](const std::string& e) {
    return name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  });
}

// Every matching regular file below `dir`, sorted by (folder, file name) as torchvision's
// sorted(os.walk(...)) + sorted(fnames) orders them.
std::vector<std::string> scan(const fs::path& dir, const std::vector<std::string>& extensions) {
  std::vector<std::pair<std::string, std::string>> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  CONVGRAD_CHECK(!ec, "ImageFolder: cannot list '{}': {}", dir.string(), ec.message());
  for (; it != end; it.increment(ec)) {
    CONVGRAD_CHECK(!ec, "ImageFolder: cannot list below '{}': {}", dir.string(), ec.message());
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && has_extension(it->path(), extensions))
      found.emplace_back(it->path().parent_path().string(), it->path().filename().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (const auto& [folder, name] : found) paths.push_back((fs::path(folder) / name).string());
  return paths;
}

std::string extension_list(const std::vector<std::string>& extensions) {
  std::string s;
  for (const auto& e : extensions) s += (s.empty() ? "" : " ") + e;
  return s;
}

}  // namespace

ImageFolder::ImageFolder(std::string root, ImageFolderOptions options)
    : root_(std::move(root)), options_(std::move(options)), state_(std::make_unique<State>()) {
  const auto extensions = normalized_extensions(options_.extensions());
  std::error_code ec;
  CONVGRAD_CHECK(fs::is_directory(root_, ec), "ImageFolder: '{}' is not a folder{}", root_,
                 ec ? ": " + ec.message() : std::string());
  std::vector<std::string> class_dirs;
  if (options_.class_folders()) {
    for (const auto& entry : fs::directory_iterator(root_, fs::directory_options::skip_permission_denied)) {
      std::error_code type_ec;
      if (entry.is_directory(type_ec)) class_dirs.push_back(entry.path().filename().string());
    }
    std::sort(class_dirs.begin(), class_dirs.end());
  }
  if (class_dirs.empty()) {
    for (auto& p : scan(root_, extensions)) samples_.emplace_back(std::move(p), -1);
  } else {
    classes_ = class_dirs;
    for (size_t c = 0; c < classes_.size(); ++c) {
      auto paths = scan(fs::path(root_) / classes_[c], extensions);
      CONVGRAD_CHECK(!paths.empty(),
                     "ImageFolder: class folder '{}' holds no file ending in {}; remove it, add images, or "
                     "use class_folders(false)",
                     (fs::path(root_) / classes_[c]).string(), extension_list(extensions));
      for (auto& p : paths) samples_.emplace_back(std::move(p), static_cast<int64_t>(c));
    }
  }
  CONVGRAD_CHECK(!samples_.empty(), "ImageFolder: no file ending in {} below '{}'",
                 extension_list(extensions), root_);
  if (!options_.loader())
    options_.loader([mode = options_.mode()](const std::string& path) {
      return read_image(path, ImageReadOptions().mode(mode));
    });
  state_->cache.resize(samples_.size());
  state_->bad.resize(samples_.size(), 0);
}

ImageFolder::~ImageFolder() = default;

std::map<std::string, int64_t> ImageFolder::class_to_idx() const {
  std::map<std::string, int64_t> m;
  for (size_t c = 0; c < classes_.size(); ++c) m[classes_[c]] = static_cast<int64_t>(c);
  return m;
}

std::string ImageFolder::describe(int64_t index) const {
  return index >= 0 && index < size() ? samples_[static_cast<size_t>(index)].first : Dataset::describe(index);
}

int64_t ImageFolder::bad_file_count() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return std::count(state_->bad.begin(), state_->bad.end(), 1);
}

Tensor ImageFolder::decode(int64_t index) const {
  const auto i = static_cast<size_t>(index);
  if (options_.cache_in_memory()) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->cache[i].defined()) return state_->cache[i];
  }
  Tensor image = options_.loader()(samples_[i].first);
  CONVGRAD_CHECK(image.defined() && image.dtype() == DType::Float32 && image.dim() == 3 && image.numel() > 0,
                 "decoded to {}, expected a non-empty float32 (C, H, W) image",
                 image.defined() ? fmt::format("{} {}", dtype_name(image.dtype()), shape_str(image.shape()))
                                 : std::string("nothing"));
  if (options_.cache_in_memory()) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->cache[i] = image;
  }
  return image;
}

void ImageFolder::bad(int64_t index, const std::string& why) const {
  const std::string& path = samples_[static_cast<size_t>(index)].first;
  // Loaders and transforms usually name the file already; add it only where they did not.
  const std::string message = why.find(path) != std::string::npos
                                  ? fmt::format("ImageFolder: {}", why)
                                  : fmt::format("ImageFolder: {}: {}", path, why);
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    first = state_->bad[static_cast<size_t>(index)] == 0;
    state_->bad[static_cast<size_t>(index)] = 1;
  }
  if (options_.on_bad_file() == BadFile::Error) throw Error(message);
  if (first) fmt::print(stderr, "warning: {} (skipped)\n", message);
  throw SampleSkipped(message);
}

Example ImageFolder::get(int64_t index, Generator& gen) const {
  CONVGRAD_CHECK(index >= 0 && index < size(), "ImageFolder::get: index {} out of range [0, {})", index,
                 size());
  const auto& [path, label] = samples_[static_cast<size_t>(index)];
  if (options_.on_bad_file() == BadFile::Skip) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->bad[static_cast<size_t>(index)])
      throw SampleSkipped(fmt::format("ImageFolder: {} was skipped", path));
  }
  try {
    Example ex;
    ex.input = decode(index);
    ex.label = label;
    ex.path = path;
    return options_.transform() ? options_.transform()(std::move(ex), gen) : ex;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const SampleSkipped&) {
    throw;
  } catch (const std::exception& e) {
    bad(index, e.what());
  }
}

}  // namespace convgrad::data
