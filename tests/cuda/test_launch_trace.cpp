// FS_CUDA_TRACE (src/backends/cuda/launch_trace.h): the per-block timeline of the decode graph, written when the
// backend is destroyed. On random weights of Qwen3-0.6B's shape, a prompt and a few greedy steps must give one
// line per traced launch of the step (28 layers × {q/k/v, attention, o, gate/up, down} + the lm head), and the
// stamps must respect what Programmatic Dependent Launch promises: no block of a launch gets past its wait before
// the last block of the launch before it has ended (gap >= 0), and within a launch start <= wait <= end. In a build
// with the phase stamps (FS_CUDA_TRACE_PHASES), every attention launch is followed by its phase line, whose 5 stamps
// come in order, after the wait and before the end; otherwise no launch has one.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "engine/model.h"

namespace fs {
namespace {

struct Line {
  std::string name;
  double start[3], wait[3], end[3], gap;
  std::vector<double> phases;  // "phases 0: a 1: b ... end: e", in order, the end last; empty: no such line
};

std::vector<Line> read_summary(const std::string& path) {
  std::ifstream in(path);
  std::vector<Line> lines;
  std::string text;
  while (std::getline(in, text)) {
    if (text.empty() || text[0] == '#' || text.find("launch") != std::string::npos) continue;
    if (text.find("phases") != std::string::npos) {
      if (lines.empty()) throw std::runtime_error("a phase line before any launch: " + text);
      std::istringstream words(text);
      for (std::string w; words >> w;)
        if (w != "phases" && w.back() != ':') lines.back().phases.push_back(std::stod(w));
      continue;
    }
    // "  12 gemv q/k/v  512 | s s s | w w w | e e e | gap adds": the name may hold a space
    const size_t bar = text.find('|');
    std::istringstream head(text.substr(0, bar));
    std::vector<std::string> words;
    for (std::string w; head >> w;) words.push_back(w);
    Line l;
    for (size_t i = 1; i + 1 < words.size(); ++i) l.name += (i > 1 ? " " : "") + words[i];
    std::string rest = text.substr(bar);
    for (char& c : rest)
      if (c == '|') c = ' ';
    std::istringstream nums(rest);
    double adds = 0;
    for (double& v : l.start) nums >> v;
    for (double& v : l.wait) nums >> v;
    for (double& v : l.end) nums >> v;
    nums >> l.gap >> adds;
    lines.push_back(l);
  }
  return lines;
}

TEST(CudaLaunchTrace, OneLinePerLaunchAndTheWaitsFollowTheKernelBefore) {
  const std::string path = ::testing::TempDir() + "fs_launch_trace.txt";
  std::remove(path.c_str());
  ::setenv("FS_CUDA_TRACE", path.c_str(), 1);
  {
    CudaBackend be;
    ModelOptions mo;
    mo.max_context = 256;
    auto m = Model::synthetic("qwen3-0.6b", be, mo);
    const int32_t prompt[5] = {11, 7, 4000, 123, 9};
    m->forward(prompt, 5);
    m->greedy_decode(4, [](int32_t) { return true; });  // the traced graph: "decode-greedy/0"
  }
  ::unsetenv("FS_CUDA_TRACE");
  const auto lines = read_summary(path);
  ASSERT_EQ(lines.size(), 28u * 5 + 1) << path;
  EXPECT_EQ(lines[0].name, "gemv q/k/v");
  EXPECT_EQ(lines[1].name, "attention");
  EXPECT_EQ(lines[3].name, "gemv gate/up");
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("launch " + std::to_string(i) + " (" + lines[i].name + ")");
    const Line& l = lines[i];
    EXPECT_LE(l.start[0], l.wait[0]);
    EXPECT_LE(l.wait[0], l.end[2]);
    EXPECT_LE(l.start[0], l.start[2]);
    if (i > 0) {
      EXPECT_GE(l.gap, 0.0);
    }
#ifdef FS_TRACE_PHASES
    const bool phased = l.name == "attention";
#else
    const bool phased = false;
#endif
    if (phased) {
      ASSERT_EQ(l.phases.size(), 6u);  // phases 0-4 and the end
      EXPECT_GE(l.phases[0], 0.0);
      for (size_t k = 1; k < l.phases.size(); ++k) EXPECT_LE(l.phases[k - 1], l.phases[k]) << "phase " << k;
    } else {
      EXPECT_TRUE(l.phases.empty());
    }
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace fs
