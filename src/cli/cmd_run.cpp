// fs run  --model DIR -p "text"   : tokenize, prefill, stream the continuation, print timings.
// fs chat --model DIR             : an interactive multi-turn chat through the model's own chat template.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "engine/generate.h"
#include "engine/generation_config.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace fs::cli {

namespace {

struct RunArgs {
  std::string model, prompt, system;
  int n = 128;
  bool chat = false, ignore_eos = false, quiet = false;
  SamplingFlags sampling;
  DeviceOptions dev;
};

void print_stats(const Session& s, const GenerateStats& st) {
  std::fprintf(stderr, "\n\nload %.2f s | prompt %d tokens, %.1f tok/s | generation %d tokens, %.1f tok/s | %s\n",
               s.load_seconds, st.prompt_tokens, st.prompt_tokens / st.prefill_seconds, st.generated,
               st.generated > 1 ? (st.generated - 1) / st.decode_seconds : 0.0, s.be->name().c_str());
}

void run(const RunArgs& a) {
  if (a.n < 1) throw Error("-n must be at least 1");
  Session s = open_session(a.model, a.sampling, a.dev);
  std::vector<int32_t> prompt;
  if (a.chat) {
    const auto tmpl = ChatTemplate::from_model_dir(a.model);
    nlohmann::json messages = nlohmann::json::array();
    if (!a.system.empty()) messages.push_back({{"role", "system"}, {"content", a.system}});
    messages.push_back({{"role", "user"}, {"content", a.prompt}});
    prompt = s.tok.encode(tmpl.render(messages, true), /*add_special_tokens=*/false);
  } else {
    prompt = s.tok.encode(a.prompt, /*add_special_tokens=*/true);
    if (!a.quiet) std::fputs(a.prompt.c_str(), stdout);
  }
  GenerateOptions opt;
  opt.max_new_tokens = a.n;
  opt.sampling = a.sampling.apply(s.gen.sampling);
  if (!a.ignore_eos) opt.stop_ids = s.gen.eos_ids;
  StreamDecoder stream(s.tok, /*skip_special_tokens=*/true, /*continuation=*/!a.chat);  // printed after the prompt
  const auto st = generate(*s.model, prompt, opt, [&](int32_t t) {
    std::fputs(stream.push(t).c_str(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::fputs(stream.finish().c_str(), stdout);
  std::fflush(stdout);
  print_stats(s, st);
}

void chat(const RunArgs& a) {
  Session s = open_session(a.model, a.sampling, a.dev);
  const auto tmpl = ChatTemplate::from_model_dir(a.model);
  nlohmann::json messages = nlohmann::json::array();
  if (!a.system.empty()) messages.push_back({{"role", "system"}, {"content", a.system}});
  std::vector<int32_t> cached;  // the tokens whose keys/values are in the KV cache
  GenerateOptions opt;
  opt.max_new_tokens = a.n;
  opt.sampling = a.sampling.apply(s.gen.sampling);
  opt.stop_ids = s.gen.eos_ids;
  const bool tty = isatty(fileno(stdin));
  std::fprintf(stderr, "%s loaded in %.2f s on %s. /reset starts over, /exit quits.\n", a.model.c_str(),
               s.load_seconds, s.be->name().c_str());
  std::string line;
  for (;;) {
    if (tty) std::fputs("\n> ", stderr);
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line == "/reset") {
      messages = nlohmann::json::array();
      if (!a.system.empty()) messages.push_back({{"role", "system"}, {"content", a.system}});
      cached.clear();
      s.model->reset();
      std::fputs("(conversation cleared)\n", stderr);
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    const auto ids = s.tok.encode(tmpl.render(messages, true), false);
    // Reuse the KV cache for the longest prefix the new prompt shares with what is cached.
    size_t common = 0;
    while (common < cached.size() && common + 1 < ids.size() && cached[common] == ids[common]) ++common;
    s.model->truncate(int(common));
    cached.assign(ids.begin(), ids.begin() + long(common));
    const std::vector<int32_t> fresh(ids.begin() + long(common), ids.end());
    if (ids.size() + size_t(opt.max_new_tokens) > size_t(s.model->max_context()))
      throw Error("the conversation no longer fits the context of " + std::to_string(s.model->max_context()) +
                  " tokens; /reset or use a larger --ctx");
    std::vector<int32_t> reply;
    StreamDecoder stream(s.tok);
    const auto st = generate(*s.model, fresh, opt, [&](int32_t t) {
      reply.push_back(t);
      std::fputs(stream.push(t).c_str(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::fputs(stream.finish().c_str(), stdout);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    // Everything but the last generated token went through the model (the last one was only sampled).
    cached.insert(cached.end(), fresh.begin(), fresh.end());
    cached.insert(cached.end(), reply.begin(), reply.end() - 1);
    if (st.stopped_by_eos) reply.pop_back();
    messages.push_back({{"role", "assistant"}, {"content", s.tok.decode(reply, true)}});
    std::fprintf(stderr, "[%d tokens, %.1f tok/s]\n", st.generated,
                 st.generated > 1 ? (st.generated - 1) / st.decode_seconds : 0.0);
  }
}

}  // namespace

void add_run_commands(CLI::App& app) {
  auto ra = std::make_shared<RunArgs>();
  auto* rc = app.add_subcommand("run", "Continue a text prompt, streaming the output");
  rc->add_option("-m,--model", ra->model, "model folder")->required();
  rc->add_option("-p,--prompt", ra->prompt, "the prompt text")->required();
  rc->add_option("-n", ra->n, "tokens to generate (default 128)");
  rc->add_flag("--chat", ra->chat, "wrap the prompt in the model's chat template as a user message");
  rc->add_option("--system", ra->system, "system prompt (with --chat)");
  rc->add_flag("--ignore-eos", ra->ignore_eos, "do not stop at the EOS ids");
  rc->add_flag("--no-echo", ra->quiet, "do not print the prompt before the continuation");
  add_sampling_flags(rc, ra->sampling);
  add_device_flags(rc, ra->dev);
  rc->callback([ra] { run(*ra); });

  auto ca = std::make_shared<RunArgs>();
  ca->n = 1024;
  auto* cc = app.add_subcommand("chat", "Chat with a model through its chat template (/reset, /exit)");
  cc->add_option("-m,--model", ca->model, "model folder")->required();
  cc->add_option("--system", ca->system, "system prompt");
  cc->add_option("-n", ca->n, "most tokens per reply (default 1024)");
  add_sampling_flags(cc, ca->sampling);
  add_device_flags(cc, ca->dev);
  cc->callback([ca] { chat(*ca); });
}

}  // namespace fs::cli
