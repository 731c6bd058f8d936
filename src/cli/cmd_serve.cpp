// fs serve --model DIR [--host 127.0.0.1] [--port 8080] : an OpenAI-compatible HTTP server for one model.
// Ctrl-C (SIGINT) or SIGTERM stops it after the requests in progress are answered.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/options.h"
#include "tokenizer/chat_template.h"
#include "util/error.h"
#ifdef FS_HAVE_SERVER
#include "server/server.h"
#endif

namespace fs::cli {

namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1", name;
  int port = 8080;
  SamplingFlags sampling;
  DeviceOptions dev;
};

#ifdef FS_HAVE_SERVER
void serve(const ServeArgs& a) {
  // SIGINT and SIGTERM go to one waiting thread, which asks the server to stop (httplib's stop() may not be called
  // from a signal handler). They are blocked first, before the backend's thread pool and httplib's workers exist,
  // so that every thread inherits the mask and none of them takes the signal's default action (exit mid-reply).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  Session s = open_session(a.model, a.sampling, a.dev);
  std::optional<ChatTemplate> tmpl;
  std::string template_error;
  try {
    tmpl = ChatTemplate::from_model_dir(a.model);
  } catch (const Error& e) {  // a base model: completions still work
    template_error = std::string("this model has no usable chat template (") + e.what() + "); use /v1/completions";
    std::fprintf(stderr, "note: %s\n", template_error.c_str());
  }
  CompletionRunner runner(*s.model, s.tok, std::move(tmpl), template_error, s.gen);

  ServerOptions opt;
  opt.model_name = a.name;
  if (opt.model_name.empty()) {
    auto dir = std::filesystem::weakly_canonical(a.model);
    if (dir.filename().empty()) dir = dir.parent_path();  // "models/x/"
    opt.model_name = dir.filename().string();
  }
  opt.sampling = a.sampling.apply(s.gen.sampling);
  opt.seed = a.sampling.seed;
  Server server(runner, opt);
  const int port = server.bind(a.host, a.port);

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "\nstopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
  });
  std::fprintf(stderr, "serving %s on http://%s:%d/v1 (context %d tokens, %s); Ctrl-C stops\n", opt.model_name.c_str(),
               a.host.c_str(), port, s.model->max_context(), s.be->name().c_str());
  try {
    server.run();
  } catch (...) {
    pthread_kill(waiter.native_handle(), SIGTERM);  // wake the waiter so it can be joined
    waiter.join();
    throw;
  }
  waiter.join();
}
#else
void serve(const ServeArgs&) {
  throw Error(
      "this build has no HTTP server (cpp-httplib was not found when it was configured; on Debian: "
      "apt-get install libcpp-httplib-dev, then build again)");
}
#endif

}  // namespace

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* c = app.add_subcommand("serve", "Serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions)");
  c->add_option("-m,--model", a->model, "model folder")->required();
  c->add_option("--host", a->host, "address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)");
  c->add_option("--port", a->port, "TCP port (default 8080; 0 picks a free one)");
  c->add_option("--name", a->name, "model name in /v1/models and responses (default: the folder's name)");
  add_sampling_flags(c, a->sampling);
  add_device_flags(c, a->dev);
  c->callback([a] { serve(*a); });
}

}  // namespace fs::cli
