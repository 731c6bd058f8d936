// The CUDA backend's fused ops (rmsnorm_matmul, rmsnorm_matmul_argmax, rmsnorm_swiglu, mlp, qk_norm_rope_store)
// against the same steps composed from CPU ops; graph recording (run_recorded) and PDL on/off; and one whole
// transformer layer, decode step recorded as a graph, against the CPU.
#include <cmath>
#include <functional>
#include <utility>

#include "cuda_test_util.h"

namespace fs::test {
namespace {

class CudaFused : public CudaVsCpu {};

TEST_F(CudaFused, RmsnormMatmulMatchesComposedCpu) {
  uint32_t seed = 7000;
  for (int n : {1, 3, 5, 37})
    for (int count : {1, 3}) {
      // n <= 4 runs fused (bf16 GEMV); n = 5 falls back to rmsnorm + matmuls (f32 weights: the f32 GEMM); n = 37
      // runs rmsnorm + one tensor-core GEMM launch for all matrices (x rounded to bf16: kTcTol).
      const DType dt = n == 5 ? DType::F32 : DType::BF16;
      const double tol = n > 4 && dt == DType::BF16 ? kTcTol : kF32Tol;
      SCOPED_TRACE("n " + std::to_string(n) + " count " + std::to_string(count));
      const int dim = 1024;
      const int rows[3] = {2048, 1024, 1024};
      HostWeight norm = make_weight(1, dim, DType::BF16, seed++, 1.f);
      HostWeight ws[3] = {make_weight(rows[0], dim, dt, seed++), make_weight(rows[1], dim, dt, seed++),
                          make_weight(rows[2], dim, dt, seed++)};
      HostWeight bias = make_weight(1, rows[0], DType::BF16, seed++, 0.5f);
      const auto x = random_floats(size_t(n) * dim, seed++, 2.f);
      Mem mc(*cpu_), mg(*gpu_);
      // CPU: composed.
      float* xc = mc.put(x);
      float* hc = mc.alloc<float>(size_t(n) * dim);
      cpu_->rmsnorm(xc, cpu_->upload(norm.w), 1e-6f, n, dim, hc);
      std::vector<float*> oc(3), og(3);
      const Weight bc = cpu_->upload(bias.w);
      for (int j = 0; j < count; ++j) {
        oc[size_t(j)] = mc.alloc<float>(size_t(n) * rows[j]);
        cpu_->matmul(hc, n, cpu_->upload(ws[j].w), j == 0 ? &bc : nullptr, oc[size_t(j)], false);
      }
      // GPU: fused.
      Weight wg[3];
      const Weight* wp[3];
      const Weight bg = gpu_->upload(bias.w);
      const Weight* bp[3] = {&bg, nullptr, nullptr};
      float* outs[3];
      for (int j = 0; j < count; ++j) {
        wg[j] = gpu_->upload(ws[j].w);
        wp[j] = &wg[j];
        og[size_t(j)] = outs[j] = mg.alloc<float>(size_t(n) * rows[j]);
        mg.poison(outs[j], size_t(n) * rows[j]);
      }
      gpu_->rmsnorm_matmul(mg.put(x), gpu_->upload(norm.w), 1e-6f, n, mg.alloc<float>(size_t(n) * dim), count, wp,
                           bp, outs);
      for (int j = 0; j < count; ++j) {
        const size_t len = size_t(n) * rows[j];
        EXPECT_LE(rel_l2(mg.get(og[size_t(j)], len), mc.get(oc[size_t(j)], len)), tol) << "output " << j;
      }
    }
}

// The greedy head, rmsnorm_matmul_argmax: the lm head writes the logits (the CPU's composed ops to f32 rounding) and
// the token is the first largest of those very logits. Shapes: rows of 1024 columns (4 rows a warp, as Qwen3-0.6B's
// lm head) and of 2048 (2 rows a warp, as Llama-3.2-1B's) take the fused path; f32 weights and rows of 8192 columns
// (split over warps) compose the GEMV and argmax. Three runs per case, each once through a recorded graph (the two
// on the same weights share one recording: the second replays it) and once directly, so every launch finds the keys
// its predecessor cleared: a random row; two identical rows made the largest (the lower index must win); an x
// holding a NaN (every logit NaN: token 0, as argmax.cu and the CPU give).
TEST_F(CudaFused, RmsnormMatmulArgmaxMatchesComposedCpu) {
  struct Case {
    int rows, dim;
    DType dt;
  };
  uint32_t seed = 7300;
  for (const Case cs : {Case{40000, 1024, DType::BF16}, Case{20000, 2048, DType::BF16}, Case{3000, 1024, DType::F32},
                        Case{600, 8192, DType::BF16}}) {
    SCOPED_TRACE("rows " + std::to_string(cs.rows) + " dim " + std::to_string(cs.dim));
    HostWeight norm = make_weight(1, cs.dim, DType::BF16, seed++, 1.f);
    HostWeight w = make_weight(cs.rows, cs.dim, cs.dt, seed++);
    const auto x = random_floats(size_t(cs.dim), seed++, 2.f);
    // Rows 7 and rows - 5: 0.05 · sign(x_j · norm_j) in every column, the largest logit by far, twice.
    for (int r : {7, cs.rows - 5})
      for (int j = 0; j < cs.dim; ++j) {
        const float nj = bf16_to_f32(uint16_t(norm.bytes[2 * size_t(j)] | norm.bytes[2 * size_t(j) + 1] << 8));
        const float v = x[size_t(j)] * nj >= 0.f ? 0.05f : -0.05f;
        const size_t at = size_t(r) * cs.dim + size_t(j);
        if (cs.dt == DType::F32) {
          std::memcpy(w.bytes.data() + 4 * at, &v, 4);
        } else {
          const uint16_t b = f32_to_bf16(v);
          std::memcpy(w.bytes.data() + 2 * at, &b, 2);
        }
      }
    HostWeight plain = make_weight(cs.rows, cs.dim, cs.dt, seed++);
    auto x_nan = x;
    x_nan[size_t(cs.dim) / 3] = NAN;
    Mem mc(*cpu_), mg(*gpu_);
    const Weight nc = cpu_->upload(norm.w), ng = gpu_->upload(norm.w);
    struct Run {
      const HostWeight* w;
      const std::vector<float>* x;
      int want;  // -1: the first largest of the logits
    };
    const Run runs[3] = {{&plain, &x, -1}, {&w, &x, 7}, {&w, &x_nan, 0}};
    const Weight wc[2] = {cpu_->upload(plain.w), cpu_->upload(w.w)};
    const Weight wg[2] = {gpu_->upload(plain.w), gpu_->upload(w.w)};
    float* lg = mg.alloc<float>(size_t(cs.rows));
    int32_t* tg = mg.alloc<int32_t>(1);
    float* xg = mg.alloc<float>(size_t(cs.dim));
    float* hg = mg.alloc<float>(size_t(cs.dim));
    for (int k = 0; k < 3; ++k)
      for (int graph = 1; graph >= 0; --graph) {
        SCOPED_TRACE("run " + std::to_string(k) + (graph ? " (recorded)" : ""));
        const Run& r = runs[k];
        const int which = r.w == &plain ? 0 : 1;
        float* lc = mc.alloc<float>(size_t(cs.rows));
        int32_t* tc = mc.alloc<int32_t>(1);
        cpu_->rmsnorm_matmul_argmax(mc.put(*r.x), nc, 1e-6f, mc.alloc<float>(size_t(cs.dim)), wc[which], lc, tc);
        gpu_->to_device(xg, r.x->data(), r.x->size() * 4);
        mg.poison(lg, size_t(cs.rows));
        const int32_t junk = -5;
        gpu_->to_device(tg, &junk, 4);
        const auto step = [&] { gpu_->rmsnorm_matmul_argmax(xg, ng, 1e-6f, hg, wg[which], lg, tg); };
        if (graph) {  // a recording per weight: x, the output and the keys are the same buffers each replay
          gpu_->run_recorded("greedy head " + std::to_string(cs.rows) + " " + std::to_string(which), step);
        } else {
          step();
        }
        const auto logits = mg.get(lg, size_t(cs.rows)), want = mc.get(lc, size_t(cs.rows));
        const int32_t token = mg.get(tg, 1)[0], cpu_token = mc.get(tc, 1)[0];
        if (r.want == 0) {  // NaN everywhere
          EXPECT_TRUE(std::isnan(logits[0]) && std::isnan(logits[size_t(cs.rows) - 1]));
        } else {
          EXPECT_LE(rel_l2(logits, want), kF32Tol);
        }
        int first_max = 0;
        for (int i = 1; i < cs.rows; ++i)
          if (logits[size_t(i)] > logits[size_t(first_max)]) first_max = i;
        EXPECT_EQ(token, r.want >= 0 ? r.want : first_max);
        if (r.want >= 0) {  // (a random row's top two may sit within f32 rounding of each other)
          EXPECT_EQ(cpu_token, r.want);
        }
      }
  }
}

// Long rows run with two or four warps per row (gemv_shape's split): the norm's sum of squares and the dot products
// are then added over the parts in shared memory. One matrix of 500 rows of 4096 columns (four warps per row), with
// an f32 norm weight (the kernel copies the norm, as stored, into shared memory: the other tests' norms are bf16).
TEST_F(CudaFused, RmsnormMatmulSplitRowsMatchesComposedCpu) {
  uint32_t seed = 7050;
  const int dim = 4096, rows = 500;
  HostWeight norm = make_weight(1, dim, DType::F32, seed++, 1.f);
  HostWeight w = make_weight(rows, dim, DType::BF16, seed++);
  HostWeight bias = make_weight(1, rows, DType::BF16, seed++, 0.5f);
  const auto x = random_floats(dim, seed++, 2.f);
  Mem mc(*cpu_), mg(*gpu_);
  float* hc = mc.alloc<float>(dim);
  float* oc = mc.alloc<float>(rows);
  cpu_->rmsnorm(mc.put(x), cpu_->upload(norm.w), 1e-6f, 1, dim, hc);
  const Weight bc = cpu_->upload(bias.w);
  cpu_->matmul(hc, 1, cpu_->upload(w.w), &bc, oc, false);
  const Weight wg = gpu_->upload(w.w), bg = gpu_->upload(bias.w);
  const Weight* wp[1] = {&wg};
  const Weight* bp[1] = {&bg};
  float* og[1] = {mg.alloc<float>(rows)};
  mg.poison(og[0], rows);
  gpu_->rmsnorm_matmul(mg.put(x), gpu_->upload(norm.w), 1e-6f, 1, mg.alloc<float>(dim), 1, wp, bp, og);
  EXPECT_LE(rel_l2(mg.get(og[0], rows), mc.get(oc, rows)), kF32Tol);
}

TEST_F(CudaFused, RmsnormSwigluMatchesComposedCpu) {
  uint32_t seed = 7100;
  // n = 1: one fused kernel; dim 1024 one warp per row pair, 2048 (Llama-3.2-1B), 3072 and 8192 four warps per
  // pair with 2, 3 and 8 vectors per lane. n = 2: GEMVs + swiglu; n = 40: one GEMM launch + swiglu.
  for (auto [n, dim] : {std::pair{1, 1024}, std::pair{1, 2048}, std::pair{1, 3072}, std::pair{1, 8192},
                        std::pair{2, 1024}, std::pair{40, 1024}}) {
    SCOPED_TRACE("n " + std::to_string(n) + ", dim " + std::to_string(dim));
    const int inter = 3072;
    HostWeight norm = make_weight(1, dim, DType::BF16, seed++, 1.f);
    HostWeight wgate = make_weight(inter, dim, DType::BF16, seed++), wup = make_weight(inter, dim, DType::BF16, seed++);
    const auto x = random_floats(size_t(n) * dim, seed++, 2.f);
    const size_t out_len = size_t(n) * inter;
    Mem mc(*cpu_), mg(*gpu_);
    float* hc = mc.alloc<float>(size_t(n) * dim);
    float* gc = mc.alloc<float>(out_len);
    float* uc = mc.alloc<float>(out_len);
    float* oc = mc.alloc<float>(out_len);
    cpu_->rmsnorm(mc.put(x), cpu_->upload(norm.w), 1e-6f, n, dim, hc);
    cpu_->matmul(hc, n, cpu_->upload(wgate.w), nullptr, gc, false);
    cpu_->matmul(hc, n, cpu_->upload(wup.w), nullptr, uc, false);
    cpu_->swiglu(gc, uc, out_len, oc);
    float* og = mg.alloc<float>(out_len);
    mg.poison(og, out_len);
    gpu_->rmsnorm_swiglu(mg.put(x), gpu_->upload(norm.w), 1e-6f, n, gpu_->upload(wgate.w), gpu_->upload(wup.w),
                         mg.alloc<float>(size_t(n) * dim), mg.alloc<float>(out_len), mg.alloc<float>(out_len), og);
    EXPECT_LE(rel_l2(mg.get(og, out_len), mc.get(oc, out_len)), n > 4 ? kTcTol : kF32Tol);
  }
}

// The MLP block, x += swiglu(rmsnorm(x))·W_downᵀ, against the CPU's composed ops. Prefill sizes on Hopper run the
// fused form (gate/up GEMM with the SwiGLU in its epilogue, bf16 act, down GEMM); with wgmma off the composed CUDA
// ops. Both round to bf16 twice (the normed x; act before the down GEMM), each worth kTcTol: 2 · kTcTol on the
// block's contribution x_after − x_before (measured against the CPU, not x itself, which would hide the error).
TEST_F(CudaFused, MlpMatchesComposedCpu) {
  uint32_t seed = 7200;
  struct Case {
    int n, dim, inter;
  };
  // n = 40: the fused GEMM with split-K; 512 × 4136: enough tiles for the fused form with a last tile of 40 gate/up
  // rows (4136 = 64 · 64 + 40); 77 × 200: too few tiles, the composed ops.
  for (const Case t : {Case{1, 1024, 3072}, Case{40, 1024, 3072}, Case{512, 2048, 8192}, Case{512, 256, 4136},
                       Case{77, 256, 200}})
    for (CudaBackend* gpu : {gpu_, gpu_mma_}) {
      SCOPED_TRACE("n " + std::to_string(t.n) + " dim " + std::to_string(t.dim) + " inter " +
                   std::to_string(t.inter) + (gpu == gpu_mma_ ? " (wgmma off)" : ""));
      HostWeight norm = make_weight(1, t.dim, DType::BF16, seed++, 1.f);
      HostWeight wg = make_weight(t.inter, t.dim, DType::BF16, seed++), wu = make_weight(t.inter, t.dim, DType::BF16, seed++);
      HostWeight wd = make_weight(t.dim, t.inter, DType::BF16, seed++);
      const auto x = random_floats(size_t(t.n) * t.dim, seed++, 2.f);
      const size_t xl = x.size(), il = size_t(t.n) * t.inter;
      Mem mc(*cpu_), mg(*gpu);
      float* xc = mc.put(x);
      cpu_->mlp(xc, cpu_->upload(norm.w), 1e-6f, t.n, cpu_->upload(wg.w), cpu_->upload(wu.w), cpu_->upload(wd.w),
                mc.alloc<float>(xl), mc.alloc<float>(il), mc.alloc<float>(il), mc.alloc<float>(il));
      float* xg = mg.put(x);
      gpu->mlp(xg, gpu->upload(norm.w), 1e-6f, t.n, gpu->upload(wg.w), gpu->upload(wu.w), gpu->upload(wd.w),
               mg.alloc<float>(xl), mg.alloc<float>(il), mg.alloc<float>(il), mg.alloc<float>(il));
      auto dc = mc.get(xc, xl), dg = mg.get(xg, xl);
      for (size_t i = 0; i < xl; ++i) dc[i] -= x[i], dg[i] -= x[i];
      EXPECT_LE(rel_l2(dg, dc), t.n > 4 ? 2 * kTcTol : kF32Tol);
    }
}

std::vector<float> inv_freq(int head_dim, float theta) {
  std::vector<float> f(size_t(head_dim / 2));
  for (int j = 0; j < head_dim / 2; ++j) f[size_t(j)] = 1.f / std::pow(theta, float(2 * j) / float(head_dim));
  return f;
}

// qk_norm_rope_attention for one token: on a bf16 cache with the tensor-core decode attention it is one kernel
// (attention_decode_tc.cu) that also normalises, rotates and stores the new K/V row; without it, the composed CUDA
// ops. Against the CPU's composed ops on the same history, whose row `pos` the test rounds to bf16 as the GPU
// cache holds it: the output at kAttnTcTol (fused) or kF32Tol (composed), and the stored rows as in the test below.
TEST_F(CudaFused, QkNormRopeAttentionMatchesComposedCpu) {
  struct Case {
    int nh, nkv, hd;
    bool norms;
    int32_t pos;
  };
  // Groups of 2, 4, 7 and 1 (the new K row rides on quad G of warp 0) and of 8 (no empty quad: a second pass).
  const Case cases[] = {{16, 8, 128, true, 37},    {16, 8, 128, true, 4999}, {32, 8, 64, false, 0},
                        {32, 8, 64, false, 3000},  {14, 2, 64, false, 300},  {4, 4, 128, true, 77},
                        {8, 1, 128, true, 50},     {16, 2, 64, false, 700}};
  uint32_t seed = 7300;
  for (const Case& c : cases)
    for (CudaBackend* gpu : {gpu_bf16_, gpu_simt_}) {
      const bool tc = gpu == gpu_bf16_;
      SCOPED_TRACE("heads " + std::to_string(c.nh) + "/" + std::to_string(c.nkv) + " hd " + std::to_string(c.hd) +
                   " pos " + std::to_string(c.pos) + (tc ? " (fused)" : " (composed)"));
      const int cap = c.pos + 1 + 9, kv_dim = c.nkv * c.hd, qd = c.nh * c.hd;
      const size_t all = size_t(cap) * kv_dim, row = size_t(c.pos) * kv_dim;
      // History: rows 0 .. pos-1 bf16-exact; row pos and beyond NaN on the GPU (the kernel must write row pos).
      auto hk = rounded_bf16(random_floats(all, seed++, 1.5f)), hv = rounded_bf16(random_floats(all, seed++, 1.f));
      const auto q = random_floats(size_t(qd), seed++, 2.f);
      const auto k = random_floats(size_t(kv_dim), seed++, 2.f), v = random_floats(size_t(kv_dim), seed++, 2.f);
      HostWeight qn = make_weight(1, c.hd, DType::BF16, seed++, 1.f), kn = make_weight(1, c.hd, DType::BF16, seed++, 1.f);
      const auto f = inv_freq(c.hd, 5e5f);
      // CPU: composed, then row pos rounded as a bf16 cache holds it, then attention.
      Mem mc(*cpu_);
      float *qc = mc.put(q), *kc = mc.put(k), *vc = mc.put(v);
      const int32_t* pc = mc.put(std::vector<int32_t>{c.pos});
      const KvLayer cc{mc.put(hk), mc.put(hv), DType::F32, cap, kv_dim};
      const Weight qnc = cpu_->upload(qn.w), knc = cpu_->upload(kn.w);
      cpu_->qk_norm_rope_store(qc, kc, vc, c.norms ? &qnc : nullptr, c.norms ? &knc : nullptr, 1e-6f, pc, 1, c.nh,
                               c.nkv, c.hd, mc.put(f), cc);
      std::vector<float> want_k = rounded_bf16(mc.get(static_cast<float*>(cc.k), all));
      std::vector<float> want_v = rounded_bf16(mc.get(static_cast<float*>(cc.v), all));
      cpu_->to_device(cc.k, want_k.data(), all * 4);
      cpu_->to_device(cc.v, want_v.data(), all * 4);
      float* oc = mc.alloc<float>(size_t(qd));
      cpu_->attention(qc, cc, pc, 1, c.nh, c.nkv, c.hd, oc);
      // GPU.
      Mem mg(*gpu);
      auto bits = [&](const std::vector<float>& x) {
        std::vector<uint16_t> b(all, 0x7fc0);
        for (size_t i = 0; i < row; ++i) b[i] = f32_to_bf16(x[i]);
        return b;
      };
      const KvLayer cg{mg.put(bits(hk)), mg.put(bits(hv)), DType::BF16, cap, kv_dim};
      float* og = mg.alloc<float>(size_t(qd));
      mg.poison(og, size_t(qd));
      const Weight qng = gpu->upload(qn.w), kng = gpu->upload(kn.w);
      gpu->qk_norm_rope_attention(mg.put(q), mg.put(k), mg.put(v), c.norms ? &qng : nullptr,
                                  c.norms ? &kng : nullptr, 1e-6f, mg.put(std::vector<int32_t>{c.pos}), 1, c.nh,
                                  c.nkv, c.hd, mg.put(f), cg, og);
      EXPECT_LE(rel_l2(mg.get(og, size_t(qd)), mc.get(oc, size_t(qd))), tc ? kAttnTcTol : kF32Tol) << "out";
      for (int which = 0; which < 2; ++which) {
        const auto b = mg.get(static_cast<uint16_t*>(which ? cg.v : cg.k) + row, size_t(kv_dim));
        std::vector<float> got(b.size()), want((which ? want_v : want_k).begin() + long(row),
                                               (which ? want_v : want_k).begin() + long(row + kv_dim));
        for (size_t i = 0; i < b.size(); ++i) got[i] = bf16_to_f32(b[i]);
        EXPECT_LE(rel_l2(got, want), 1e-3) << (which ? "V row" : "K row");  // as in the test below
      }
    }
}

TEST_F(CudaFused, QkNormRopeStoreMatchesComposedCpu) {
  struct Case {
    int nh, nkv, hd;
    bool norms;
    std::vector<int32_t> pos;
  };
  const Case cases[] = {{16, 8, 128, true, {37}}, {32, 8, 64, false, {5, 6, 7, 8}}, {4, 2, 80, true, {0, 9, 3}}};
  uint32_t seed = 7200;
  for (const Case& c : cases)
    for (CudaBackend* gpu : {gpu_, gpu_bf16_}) {
      const DType dt = gpu->kv_dtype();
      const int n = int(c.pos.size()), cap = 12 + 40, kv_dim = c.nkv * c.hd;
      SCOPED_TRACE("heads " + std::to_string(c.nh) + "/" + std::to_string(c.nkv) + " hd " + std::to_string(c.hd) +
                   " n " + std::to_string(n) + " KV " + dtype_name(dt));
      const auto q = random_floats(size_t(n) * c.nh * c.hd, seed++, 2.f);
      const auto k = random_floats(size_t(n) * kv_dim, seed++, 2.f);
      const auto v = random_floats(size_t(n) * kv_dim, seed++, 2.f);
      HostWeight qn = make_weight(1, c.hd, DType::BF16, seed++, 1.f), kn = make_weight(1, c.hd, DType::BF16, seed++, 1.f);
      const auto f = inv_freq(c.hd, 1e6f);
      const std::vector<float> zeros(size_t(cap) * kv_dim, 0.f);
      // CPU: composed.
      Mem mc(*cpu_);
      float *qc = mc.put(q), *kc = mc.put(k), *vc = mc.put(v);
      const int32_t* pc = mc.put(c.pos);
      const KvLayer cc{mc.put(zeros), mc.put(zeros), DType::F32, cap, kv_dim};
      if (c.norms) {
        cpu_->rmsnorm(qc, cpu_->upload(qn.w), 1e-6f, n * c.nh, c.hd, qc);
        cpu_->rmsnorm(kc, cpu_->upload(kn.w), 1e-6f, n * c.nkv, c.hd, kc);
      }
      cpu_->rope(qc, pc, n, c.nh, c.hd, mc.put(f));
      cpu_->rope(kc, pc, n, c.nkv, c.hd, mc.put(f));
      cpu_->kv_store(kc, vc, pc, n, cc);
      // GPU: fused.
      Mem mg(*gpu);
      float *qg = mg.put(q), *kg = mg.put(k);
      KvLayer cg{nullptr, nullptr, dt, cap, kv_dim};
      if (dt == DType::F32) {
        cg.k = mg.put(zeros), cg.v = mg.put(zeros);
      } else {
        cg.k = mg.put(std::vector<uint16_t>(zeros.size(), 0)), cg.v = mg.put(std::vector<uint16_t>(zeros.size(), 0));
      }
      const Weight qng = gpu->upload(qn.w), kng = gpu->upload(kn.w);
      gpu->qk_norm_rope_store(qg, kg, mg.put(v), c.norms ? &qng : nullptr, c.norms ? &kng : nullptr, 1e-6f,
                              mg.put(c.pos), n, c.nh, c.nkv, c.hd, mg.put(f), cg);
      EXPECT_LE(rel_l2(mg.get(qg, q.size()), mc.get(qc, q.size())), kF32Tol) << "q";
      EXPECT_LE(rel_l2(mg.get(kg, k.size()), mc.get(kc, k.size())), kF32Tol) << "k";
      for (int which = 0; which < 2; ++which) {
        auto want = mc.get(static_cast<float*>(which ? cc.v : cc.k), zeros.size());
        std::vector<float> got(zeros.size());
        if (dt == DType::F32) {
          got = mg.get(static_cast<float*>(which ? cg.v : cg.k), zeros.size());
        } else {
          want = rounded_bf16(want);
          const auto b = mg.get(static_cast<uint16_t*>(which ? cg.v : cg.k), zeros.size());
          for (size_t i = 0; i < b.size(); ++i) got[i] = bf16_to_f32(b[i]);
        }
        // bf16: rounding f32 values that differ in the last bit can land one bf16 step apart, rarely.
        EXPECT_LE(rel_l2(got, want), dt == DType::F32 ? kF32Tol : 1e-3) << (which ? "V cache" : "K cache");
      }
    }
}

// ---- a whole layer ----

struct LayerHost {
  HostWeight in_norm, q, k, v, q_norm, k_norm, o, post_norm, gate, up, down;
};
struct LayerDev {
  Weight in_norm, q, k, v, q_norm, k_norm, o, post_norm, gate, up, down;
};
constexpr int kDim = 256, kHeads = 4, kKv = 2, kHd = 64, kInter = 512, kCap = 64;

LayerHost make_layer(uint32_t seed) {
  return {make_weight(1, kDim, DType::BF16, seed, 1.f),
          make_weight(kHeads * kHd, kDim, DType::BF16, seed + 1),
          make_weight(kKv * kHd, kDim, DType::BF16, seed + 2),
          make_weight(kKv * kHd, kDim, DType::BF16, seed + 3),
          make_weight(1, kHd, DType::BF16, seed + 4, 1.f),
          make_weight(1, kHd, DType::BF16, seed + 5, 1.f),
          make_weight(kDim, kHeads * kHd, DType::BF16, seed + 6),
          make_weight(1, kDim, DType::BF16, seed + 7, 1.f),
          make_weight(kInter, kDim, DType::BF16, seed + 8),
          make_weight(kInter, kDim, DType::BF16, seed + 9),
          make_weight(kDim, kInter, DType::BF16, seed + 10)};
}
LayerDev upload(Backend& be, const LayerHost& h) {
  return {be.upload(h.in_norm.w), be.upload(h.q.w),    be.upload(h.k.w),         be.upload(h.v.w),
          be.upload(h.q_norm.w),  be.upload(h.k_norm.w), be.upload(h.o.w),       be.upload(h.post_norm.w),
          be.upload(h.gate.w),    be.upload(h.up.w),   be.upload(h.down.w)};
}

// Activation buffers of one backend for up to n tokens.
struct Acts {
  float *x, *h, *q, *k, *v, *att, *gate, *up, *act;
  int32_t* pos;
  KvLayer cache;
  Acts(Mem& m, Backend& be, int n) {
    x = m.alloc<float>(size_t(n) * kDim), h = m.alloc<float>(size_t(n) * kDim);
    q = m.alloc<float>(size_t(n) * kHeads * kHd), att = m.alloc<float>(size_t(n) * kHeads * kHd);
    k = m.alloc<float>(size_t(n) * kKv * kHd), v = m.alloc<float>(size_t(n) * kKv * kHd);
    gate = m.alloc<float>(size_t(n) * kInter), up = m.alloc<float>(size_t(n) * kInter);
    act = m.alloc<float>(size_t(n) * kInter);
    pos = m.alloc<int32_t>(size_t(n));
    const size_t cache_bytes = size_t(kCap) * kKv * kHd * dtype_size(be.kv_dtype());
    cache = KvLayer{m.alloc<uint8_t>(cache_bytes), m.alloc<uint8_t>(cache_bytes), be.kv_dtype(), kCap, kKv * kHd};
  }
};

// The layer from the interface's ops alone (what engine/forward runs today).
void layer_composed(Backend& be, const LayerDev& w, Acts& a, int n, const float* inv_freq) {
  be.rmsnorm(a.x, w.in_norm, 1e-6f, n, kDim, a.h);
  be.matmul(a.h, n, w.q, nullptr, a.q, false);
  be.matmul(a.h, n, w.k, nullptr, a.k, false);
  be.matmul(a.h, n, w.v, nullptr, a.v, false);
  be.rmsnorm(a.q, w.q_norm, 1e-6f, n * kHeads, kHd, a.q);
  be.rmsnorm(a.k, w.k_norm, 1e-6f, n * kKv, kHd, a.k);
  be.rope(a.q, a.pos, n, kHeads, kHd, inv_freq);
  be.rope(a.k, a.pos, n, kKv, kHd, inv_freq);
  be.kv_store(a.k, a.v, a.pos, n, a.cache);
  be.attention(a.q, a.cache, a.pos, n, kHeads, kKv, kHd, a.att);
  be.matmul(a.att, n, w.o, nullptr, a.x, true);
  be.rmsnorm(a.x, w.post_norm, 1e-6f, n, kDim, a.h);
  be.matmul(a.h, n, w.gate, nullptr, a.gate, false);
  be.matmul(a.h, n, w.up, nullptr, a.up, false);
  be.swiglu(a.gate, a.up, size_t(n) * kInter, a.act);
  be.matmul(a.act, n, w.down, nullptr, a.x, true);
}

// The same layer with the CUDA backend's fused ops, as Model::layer runs it.
void layer_fused(CudaBackend& be, const LayerDev& w, Acts& a, int n, const float* inv_freq) {
  const Weight* ws[3] = {&w.q, &w.k, &w.v};
  const Weight* bs[3] = {nullptr, nullptr, nullptr};
  float* outs[3] = {a.q, a.k, a.v};
  be.rmsnorm_matmul(a.x, w.in_norm, 1e-6f, n, a.h, 3, ws, bs, outs);
  be.qk_norm_rope_store(a.q, a.k, a.v, &w.q_norm, &w.k_norm, 1e-6f, a.pos, n, kHeads, kKv, kHd, inv_freq, a.cache);
  be.attention(a.q, a.cache, a.pos, n, kHeads, kKv, kHd, a.att);
  be.matmul(a.att, n, w.o, nullptr, a.x, true);
  be.rmsnorm_swiglu(a.x, w.post_norm, 1e-6f, n, w.gate, w.up, a.h, a.gate, a.up, a.act);
  be.matmul(a.act, n, w.down, nullptr, a.x, true);
}

TEST_F(CudaFused, RecordedDecodeLayerMatchesCpu) {
  const LayerHost host = make_layer(7300);
  const auto f = inv_freq(kHd, 1e6f);
  const int prompt = 4, steps = 5;
  for (bool fused : {false, true})
    for (bool pdl : {true, false}) {
      SCOPED_TRACE(std::string(fused ? "fused" : "composed") + (pdl ? ", PDL" : ", no PDL"));
      gpu_->set_pdl(pdl);
      Mem mc(*cpu_), mg(*gpu_);
      const LayerDev wc = upload(*cpu_, host), wg = upload(*gpu_, host);
      Acts ac(mc, *cpu_, prompt), ag(mg, *gpu_, prompt);
      const float* fc = mc.put(f);
      const float* fg = mg.put(f);
      // Prompt: 4 tokens at positions 0..3, not recorded.
      const auto x0 = random_floats(size_t(prompt) * kDim, 7400, 1.f);
      const auto p0 = std::vector<int32_t>{0, 1, 2, 3};
      cpu_->to_device(ac.x, x0.data(), x0.size() * 4);
      gpu_->to_device(ag.x, x0.data(), x0.size() * 4);
      cpu_->to_device(ac.pos, p0.data(), 16);
      gpu_->to_device(ag.pos, p0.data(), 16);
      layer_composed(*cpu_, wc, ac, prompt, fc);
      fused ? layer_fused(*gpu_, wg, ag, prompt, fg) : layer_composed(*gpu_, wg, ag, prompt, fg);
      // Decode steps: the same recorded graph replayed with new inputs at positions 4, 5, ...
      const std::string key = std::string("layer ") + (fused ? "fused" : "composed") + (pdl ? " pdl" : "");
      for (int s = 0; s < steps; ++s) {
        const auto x = random_floats(kDim, 7500 + uint32_t(s), 1.f);
        const int32_t p = prompt + s;
        cpu_->to_device(ac.x, x.data(), x.size() * 4);
        gpu_->to_device(ag.x, x.data(), x.size() * 4);
        cpu_->to_device(ac.pos, &p, 4);
        gpu_->to_device(ag.pos, &p, 4);
        layer_composed(*cpu_, wc, ac, 1, fc);
        gpu_->run_recorded(key, [&] {
          fused ? layer_fused(*gpu_, wg, ag, 1, fg) : layer_composed(*gpu_, wg, ag, 1, fg);
        });
        EXPECT_LE(rel_l2(mg.get(ag.x, kDim), mc.get(ac.x, kDim)), kF32Tol) << "step " << s;
      }
    }
  gpu_->set_pdl(true);
}

}  // namespace
}  // namespace fs::test
