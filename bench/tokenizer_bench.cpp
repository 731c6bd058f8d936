// Tokenizer speed: load time of tokenizer.json and single-thread encoding throughput.
//
//   tokenizer_bench DIR FILE [--lines] [--repeat N]
//
// DIR holds tokenizer.json; FILE is UTF-8 text (tools/english_prose.py writes ~6 MB of English prose). The whole
// file is encoded as one string (or line by line with --lines), without special tokens, N times (default 3) on one
// Tokenizer: the first run starts with an empty word cache, later ones reuse it. tools/tokenizer_speed.py measures
// Hugging Face the same way. Prints one JSON object on stdout:
//   {"load_ms": ..., "bytes": ..., "tokens": ..., "first_mb_s": ..., "best_mb_s": ..., "ms_per_run": [...]}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DIR FILE [--lines] [--repeat N]\n", argv[0]);
    return 2;
  }
  bool by_lines = false;
  int repeat = 3;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--lines") == 0) {
      by_lines = true;
    } else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  try {
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) throw fs::Error(std::string(argv[2]) + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    std::vector<std::string> lines;
    if (by_lines) {
      std::string line;
      std::istringstream ls(text);
      while (std::getline(ls, line)) lines.push_back(line);
    }

    const auto t0 = std::chrono::steady_clock::now();
    const fs::Tokenizer tok = fs::Tokenizer::load(argv[1]);
    const double load_ms = ms_since(t0);

    std::vector<double> run_ms;
    size_t tokens = 0;
    for (int r = 0; r < repeat; ++r) {
      const auto t1 = std::chrono::steady_clock::now();
      tokens = 0;
      if (by_lines) {
        for (const std::string& line : lines) tokens += tok.encode(line, false).size();
      } else {
        tokens = tok.encode(text, false).size();
      }
      run_ms.push_back(ms_since(t1));
    }
    const double mb = double(text.size()) / 1e6;
    const double best = *std::min_element(run_ms.begin(), run_ms.end());
    std::printf("{\"load_ms\": %.1f, \"bytes\": %zu, \"tokens\": %zu, \"first_mb_s\": %.2f, \"best_mb_s\": %.2f, "
                "\"mode\": \"%s\", \"ms_per_run\": [",
                load_ms, text.size(), tokens, mb / (run_ms[0] / 1e3), mb / (best / 1e3),
                by_lines ? "lines" : "whole");
    for (size_t k = 0; k < run_ms.size(); ++k) std::printf("%s%.1f", k ? ", " : "", run_ms[k]);
    std::printf("]}\n");
  } catch (const fs::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
