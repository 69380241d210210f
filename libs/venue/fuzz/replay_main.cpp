// Runs every file of a fuzz corpus through a fuzz target's entry point, without libFuzzer: the
// normal and sanitizer trees replay the committed corpora in ctest.
//   venue_fuzz_replay <poloniex_wire|binance_wire> <corpus dir or file>...
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int fuzz_poloniex_wire(const std::uint8_t* data, std::size_t size);
int fuzz_binance_wire(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <poloniex_wire|binance_wire> <corpus dir or file>...\n", argv[0]);
    return 2;
  }
  const std::string target = argv[1];
  auto* entry = target == "poloniex_wire" ? &fuzz_poloniex_wire : target == "binance_wire" ? &fuzz_binance_wire : nullptr;
  if (entry == nullptr) {
    std::fprintf(stderr, "unknown target %s\n", target.c_str());
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (int i = 2; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (std::filesystem::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "no such corpus: %s\n", argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "empty corpus\n");
    return 2;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%s: replayed %zu inputs\n", target.c_str(), files.size());
  return 0;
}
