#pragma once
// Temp folders and files for the loader tests: removed at scope exit.
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace replay_test {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() / ("pt_replay_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  // A plain file with exactly `text`.
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // A gzip file holding `text`, written with zlib's gzopen as the data README describes.
  fs::path write_gz(const std::string& name, const std::string& text) const {
    const fs::path p = path / name;
    fs::create_directories(p.parent_path());
    gzFile f = gzopen(p.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("gzopen failed");
    if (!text.empty() && gzwrite(f, text.data(), static_cast<unsigned>(text.size())) != static_cast<int>(text.size()))
      throw std::runtime_error("gzwrite failed");
    gzclose(f);
    return p;
  }
};

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace replay_test
