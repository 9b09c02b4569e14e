// ImageFolder: the scan (recursive, sorted, extensions, class folders as torchvision), the cache,
// and bad files in Skip and Error modes through a DataLoader.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "layers/convgrad.h"

using namespace convgrad;
using namespace convgrad::data;
namespace fs = std::filesystem;

namespace {

/// A fresh folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("convgrad_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& rel) const {
    fs::create_directories((path / rel).parent_path());
    return (path / rel).string();
  }
};

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// An image whose every pixel holds `value`, so a sample tells which file it came from.
void write_npy_image(const std::string& path, float value, int64_t h = 6, int64_t w = 6) {
  save_npy(path, full({3, h, w}, value));
}

std::vector<std::string> names(const ImageFolder& f) {
  std::vector<std::string> out;
  for (const auto& [p, label] : f.samples()) out.push_back(fs::relative(p, f.root()).string() + ":" + std::to_string(label));
  return out;
}

}  // namespace

TEST_CASE("class sub-folders become labels in sorted order; files are found recursively and sorted") {
  TempDir d("classes");
  write_npy_image(d.file("dog/b.npy"), 1);
  write_npy_image(d.file("dog/a.NPY"), 2);  // extensions compare case-insensitively
  write_npy_image(d.file("dog/deeper/c.npy"), 3);
  write_npy_image(d.file("cat/z.npy"), 4);
  write_npy_image(d.file("ant/x.npy"), 5);
  write_text(d.file("ant/notes.txt"), "not an image");
  write_npy_image(d.file("root_file.npy"), 6);  // beside class folders: ignored, as torchvision
  ImageFolder f(d.path.string(), ImageFolderOptions().loader(load_npy));
  CHECK(f.classes() == std::vector<std::string>{"ant", "cat", "dog"});
  CHECK(f.class_to_idx() == std::map<std::string, int64_t>{{"ant", 0}, {"cat", 1}, {"dog", 2}});
  CHECK(names(f) == std::vector<std::string>{"ant/x.npy:0", "cat/z.npy:1", "dog/a.NPY:2", "dog/b.npy:2",
                                             "dog/deeper/c.npy:2"});
  Generator g(0);
  Example ex = f.get(3, g);
  CHECK(ex.label == 2);
  CHECK(ex.path == (d.path / "dog/b.npy").string());
  CHECK(ex.input.shape() == Shape{3, 6, 6});
  CHECK(ex.input.at<float>({2, 5, 5}) == 1.f);
  CHECK_THROWS_AS(f.get(5, g), Error);
  // Only the extensions asked for, with or without the dot.
  write_text(d.file("ant/y.bin"), "x");
  ImageFolder only(d.path.string(), ImageFolderOptions().loader(load_npy).extensions({"txt"}).class_folders(false));
  CHECK(names(only) == std::vector<std::string>{"ant/notes.txt:-1"});
}

TEST_CASE("a folder of images without class folders is an unlabelled dataset") {
  TempDir d("flat");
  write_npy_image(d.file("b.npy"), 2);
  write_npy_image(d.file("a.npy"), 1);
  ImageFolder f(d.path.string(), ImageFolderOptions().loader(load_npy));
  CHECK(f.classes().empty());
  CHECK(names(f) == std::vector<std::string>{"a.npy:-1", "b.npy:-1"});
  // class_folders(false) reads sub-folders too, still unlabelled.
  write_npy_image(d.file("more/c.npy"), 3);
  ImageFolder all(d.path.string(), ImageFolderOptions().loader(load_npy).class_folders(false));
  CHECK(names(all) == std::vector<std::string>{"a.npy:-1", "b.npy:-1", "more/c.npy:-1"});
  ImageFolder classes(d.path.string(), ImageFolderOptions().loader(load_npy));
  CHECK(names(classes) == std::vector<std::string>{"more/c.npy:0"});
}

TEST_CASE("scan errors name the folder") {
  TempDir d("errors");
  CHECK_THROWS_WITH_AS(ImageFolder(d.path.string() + "/missing"), doctest::Contains("is not a folder"), Error);
  CHECK_THROWS_WITH_AS(ImageFolder(d.path.string()), doctest::Contains("no file ending in .png .jpg .jpeg .npy"),
                       Error);
  write_npy_image(d.file("full/a.npy"), 1);
  fs::create_directories(d.path / "empty");
  const std::string want = "class folder '" + (d.path / "empty").string() + "' holds no file";
  CHECK_THROWS_WITH_AS(ImageFolder(d.path.string()), doctest::Contains(want.c_str()), Error);
  CHECK_THROWS_AS(ImageFolder(d.path.string(), ImageFolderOptions().extensions({})), Error);
}

TEST_CASE("cache_in_memory decodes each file once") {
  TempDir d("cache");
  write_npy_image(d.file("a.npy"), 1);
  write_npy_image(d.file("b.npy"), 2);
  int decodes = 0;
  auto counting = [&](const std::string& p) {
    ++decodes;
    return load_npy(p);
  };
  auto f = std::make_shared<ImageFolder>(
      d.path.string(), ImageFolderOptions().loader(counting).cache_in_memory(true).transform(RandomHorizontalFlip()));
  DataLoader loader(f, DataLoaderOptions().batch_size(2));
  for (int e = 0; e < 3; ++e)
    for (Batch& b : loader) CHECK(b.input.at<float>({1, 0, 0, 0}) == 2.f);
  CHECK(decodes == 2);
  ImageFolder uncached(d.path.string(), ImageFolderOptions().loader(counting));
  Generator g(0);
  uncached.get(0, g);
  uncached.get(0, g);
  CHECK(decodes == 4);
}
