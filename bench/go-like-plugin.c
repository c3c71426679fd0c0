/*
 * The bench's session-manager-plugin: the test suite's fake (test/support/fake-plugin.mjs) in C, for
 * its start time. The real plugin is a Go program and starts in a few milliseconds; the Node fake
 * needs 60-70 ms, and five of them starting at once on two cores ~200 ms, which a five-tunnel
 * measure would otherwise charge to dbtunnel. Same contract as the Node fake, as far as the bench
 * needs it (docs/aws-facts.md §plugin): `--version`; argv <response | env var name> <region>
 * StartSession <profile> <request> <endpoint>; the emulator's data channel (POST .../open, one JSON
 * line per event; POST .../terminate); the real plugin's lines in multiplexed and basic mode;
 * `Cannot perform start session` on a busy port (exit 0); SIGINT, SIGQUIT and SIGTSTP tell the agent
 * and exit 0, SIGTERM kills; a record of each run in FAKE_PLUGIN_RECORD_DIR (argv, pid, ppid).
 * The test suite's knobs (FAKE_PLUGIN_BIND, _CRASH_AFTER_MS, ...) are not here: tests use the Node fake.
 *
 * Plain POSIX C (Linux and macOS). Built by bench/go-like-plugin.ts: cc -O2 -o DIR/session-manager-plugin THIS.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define RESPONSE_ENV "AWS_SSM_START_SESSION_RESPONSE"
#define MAX_PAIRS 64

static char session_id[256], token[4096], channel_host[256], channel_port[16], channel_path[1024];
static char dest_host[512], dest_port[16]; /* where the agent connects each client: host and port */
static int signal_pipe[2];

/* Unbuffered, as the Go plugin writes: dbtunnel reads the lines as they come. A write to a pipe
 * nobody reads any more fails with EPIPE (SIGPIPE is ignored) and is dropped. */
static void say(const char *fmt, ...) {
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
  for (int off = 0; off < n;) {
    ssize_t w = write(1, buf + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += w;
  }
}

/* The raw text of a JSON string value ("key": "..."), escapes kept: enough for the ids, URLs and
 * tokens AWS sends, and a token copied raw is sent back exactly as it came. */
static int json_string(const char *json, const char *key, char *out, size_t size) {
  char quoted[128];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *p = strstr(json, quoted);
  if (!p) return 0;
  p += strlen(quoted);
  while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p != '"') return 0;
  p++;
  size_t n = 0;
  for (; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1]) {
      if (n + 2 >= size) return 0;
      out[n++] = *p++;
    }
    if (n + 1 >= size) return 0;
    out[n++] = *p;
  }
  out[n] = '\0';
  return *p == '"';
}

static int connect_to(const char *host, const char *port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
  if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
  int fd = -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= w;
  }
  return 0;
}

/* POST {"TokenValue": ...} to the data channel's `suffix` as HTTP/1.0, so that the answer comes
 * unchunked and ends when the emulator closes the connection. Returns the socket, positioned after
 * the answer's headers (any body bytes read with them in *body), and the status in *status. */
static int post(const char *suffix, int *status, char *body, size_t body_size, size_t *body_len) {
  int fd = connect_to(channel_host, channel_port);
  if (fd < 0) return -1;
  char payload[4200], request[6000];
  int pn = snprintf(payload, sizeof payload, "{\"TokenValue\":\"%s\"}", token);
  int rn = snprintf(request, sizeof request,
                    "POST %s/%s HTTP/1.0\r\nHost: %s:%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                    channel_path, suffix, channel_host, channel_port, pn, payload);
  if (write_all(fd, request, rn) < 0) {
    close(fd);
    return -1;
  }
  char head[8192];
  size_t got = 0;
  char *end = NULL;
  while (!end) {
    ssize_t r = read(fd, head + got, sizeof head - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      close(fd);
      return -1;
    }
    got += r;
    head[got] = '\0';
    end = strstr(head, "\r\n\r\n");
    if (!end && got == sizeof head - 1) {
      close(fd);
      return -1;
    }
  }
  *status = 0;
  sscanf(head, "HTTP/%*s %d", status);
  size_t rest = got - (size_t)(end + 4 - head);
  if (rest > body_size) rest = body_size;
  memcpy(body, end + 4, rest);
  *body_len = rest;
  return fd;
}

static int newer_than_3_0_196_0(const char *v) {
  const int base[4] = {3, 0, 196, 0};
  int parts[4] = {0, 0, 0, 0};
  sscanf(v, "%d.%d.%d.%d", &parts[0], &parts[1], &parts[2], &parts[3]);
  for (int i = 0; i < 4; i++)
    if (parts[i] != base[i]) return parts[i] > base[i];
  return 0;
}

static void on_terminate_signal(int sig) {
  int saved = errno;
  char c = (char)sig;
  (void)!write(signal_pipe[1], &c, 1);
  errno = saved;
}

/* The real plugin tells the agent over the data channel, then leaves. */
static void terminate_session(void) {
  say("Terminate signal received, exiting.\n");
  int status;
  char body[256];
  size_t len;
  int fd = post("terminate", &status, body, sizeof body, &len);
  if (fd >= 0) {
    while (read(fd, body, sizeof body) > 0) {
    }
    close(fd);
  }
  say("\n\nExiting session with sessionId: %s.\n\n", session_id);
  exit(0);
}

static void record_run(int argc, char **argv) {
  const char *dir = getenv("FAKE_PLUGIN_RECORD_DIR");
  if (!dir || !*dir) return;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  char file[1024];
  snprintf(file, sizeof file, "%s/plugin-%lld-%d.json", dir, (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000, (int)getpid());
  FILE *f = fopen(file, "w");
  if (!f) return;
  fputs("{\"argv\":[", f);
  for (int i = 1; i < argc; i++) {
    fputs(i > 1 ? ",\"" : "\"", f);
    for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++) {
      if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
      else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
      else fputc(*p, f);
    }
    fputc('"', f);
  }
  fprintf(f, "],\"env\":{},\"pid\":%d,\"ppid\":%d}", (int)getpid(), (int)getppid());
  fclose(f);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    const char *v = getenv("FAKE_PLUGIN_VERSION");
    say("%s\n", v && *v ? v : "1.2.835.0");
    return 0;
  }
  record_run(argc, argv);
  if (argc < 7 || strcmp(argv[3], "StartSession") != 0) {
    say("Invalid arguments: expected <response> <region> StartSession <profile> <request> <endpoint>\n");
    return 1;
  }
  const char *response = argv[1];
  if (strncmp(response, RESPONSE_ENV, strlen(RESPONSE_ENV)) == 0) {
    const char *value = getenv(response);
    response = value ? strdup(value) : "{}";
    unsetenv(argv[1]);
  }
  char stream_url[2048];
  if (!json_string(response, "SessionId", session_id, sizeof session_id) || !json_string(response, "TokenValue", token, sizeof token) ||
      !json_string(response, "StreamUrl", stream_url, sizeof stream_url)) {
    say("Invalid arguments: the session response lacks SessionId, TokenValue or StreamUrl\n");
    return 1;
  }
  const char *lp = strstr(argv[5], "\"localPortNumber\"");
  int local_port = 0;
  if (lp) {
    lp += strlen("\"localPortNumber\"");
    while (*lp && (*lp < '0' || *lp > '9')) lp++;
    local_port = atoi(lp);
  }

  say("\nStarting session with SessionId: %s\n", session_id);

  /* ws://host:port/path?query -> host, port, path (the emulator serves the channel over HTTP). */
  const char *p = strstr(stream_url, "://");
  p = p ? p + 3 : stream_url;
  const char *slash = strchr(p, '/');
  const char *colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
  snprintf(channel_host, sizeof channel_host, "%.*s", (int)((colon ? colon : slash) - p), p);
  snprintf(channel_port, sizeof channel_port, "%.*s", colon ? (int)(slash - colon - 1) : 2, colon ? colon + 1 : "80");
  snprintf(channel_path, sizeof channel_path, "%.*s", (int)strcspn(slash ? slash : "", "?"), slash ? slash : "");

  if (pipe(signal_pipe) != 0) return 1;
  struct sigaction sa = {.sa_handler = on_terminate_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGQUIT, &sa, NULL);
  sigaction(SIGTSTP, &sa, NULL);

  /* Open the data channel. An unreachable StreamUrl hangs forever, as the real plugin does. */
  int status = 0;
  char lines[16384];
  size_t line_len = 0;
  int channel = -1;
  while (channel < 0) {
    channel = post("open", &status, lines, sizeof lines - 1, &line_len);
    if (channel < 0) {
      struct pollfd w = {.fd = signal_pipe[0], .events = POLLIN};
      if (poll(&w, 1, 1000) > 0) terminate_session();
    }
  }
  if (status != 200) {
    say("Cannot perform start session: failed to open data channel: HTTP %d\n", status);
    return 0;
  }

  int server = -1, mux = 0;
  int pairs[MAX_PAIRS][2];
  int ended[MAX_PAIRS][2]; /* a side that has said all it will (EOF): passed on as a half-close */
  int npairs = 0;
  for (;;) {
    /* Events from the channel, one JSON object per line. */
    char *nl;
    lines[line_len] = '\0';
    while ((nl = memchr(lines, '\n', line_len))) {
      *nl = '\0';
      char text[2048], destination[512], agent[64];
      if (strstr(lines, "\"type\":\"open\"") && server < 0) {
        json_string(lines, "destination", destination, sizeof destination);
        if (!json_string(lines, "agentVersion", agent, sizeof agent)) strcpy(agent, "0");
        mux = newer_than_3_0_196_0(agent);
        server = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(local_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (bind(server, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(server, 128) != 0) {
          say("Cannot perform start session: listen tcp 127.0.0.1:%d: %s\n", local_port,
              errno == EADDRINUSE ? "bind: address already in use" : strerror(errno));
          return 0;
        }
        socklen_t alen = sizeof addr;
        getsockname(server, (struct sockaddr *)&addr, &alen);
        if (mux) {
          say("Port %d opened for sessionId %s.", ntohs(addr.sin_port), session_id);
          say("\nWaiting for connections...\n");
        } else {
          say("Port %d opened for sessionId %s.\n", ntohs(addr.sin_port), session_id);
        }
        char *c = strrchr(destination, ':');
        if (c) {
          snprintf(dest_host, sizeof dest_host, "%.*s", (int)(c - destination), destination);
          snprintf(dest_port, sizeof dest_port, "%s", c + 1);
        }
      }
      if (strstr(lines, "\"type\":\"end\"")) {
        if (!json_string(lines, "text", text, sizeof text)) text[0] = '\0';
        say("\n\nSessionId: %s : %s\n\n", session_id, text);
        return 0;
      }
      size_t used = (size_t)(nl + 1 - lines);
      memmove(lines, nl + 1, line_len - used);
      line_len -= used;
      lines[line_len] = '\0';
    }

    struct pollfd fds[3 + 2 * MAX_PAIRS];
    int n = 0;
    fds[n++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = channel, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = server, .events = POLLIN}; /* -1 is skipped by poll */
    for (int i = 0; i < npairs; i++) {
      /* A negative fd is skipped by poll: an ended side is not read again. */
      fds[n++] = (struct pollfd){.fd = ended[i][0] ? -1 : pairs[i][0], .events = POLLIN};
      fds[n++] = (struct pollfd){.fd = ended[i][1] ? -1 : pairs[i][1], .events = POLLIN};
    }
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[0].revents) terminate_session();
    int polled = npairs; /* pairs accepted below have no entry in fds yet */
    if (fds[1].revents) {
      ssize_t r = read(channel, lines + line_len, sizeof lines - 1 - line_len);
      if (r <= 0 && !(r < 0 && errno == EINTR)) {
        say("\n\nExiting session with sessionId: %s.\n\n", session_id);
        return 0;
      }
      if (r > 0) line_len += r;
    }
    if (server >= 0 && fds[2].revents) {
      int client = accept(server, NULL, NULL);
      if (client >= 0) {
        if (mux) say("\nConnection accepted for session [%s]\n", session_id);
        else say("Connection accepted for session %s.\n", session_id);
        int upstream = connect_to(dest_host, dest_port);
        if (upstream < 0 || npairs == MAX_PAIRS) {
          say("\nConnection to destination port failed, check SSM Agent logs.\n");
          if (upstream >= 0) close(upstream);
          close(client);
        } else {
          pairs[npairs][0] = client;
          pairs[npairs][1] = upstream;
          ended[npairs][0] = ended[npairs][1] = 0;
          npairs++;
        }
      }
    }
    /* Bytes both ways. A side's EOF is passed on as a half-close (as the real plugin does: the
       other side may still answer); the pair ends when both have ended, or on an error. Writes
       block: the bench sends a byte. */
    for (int i = polled - 1; i >= 0; i--) {
      for (int side = 0; side < 2; side++) {
        if (!fds[3 + 2 * i + side].revents) continue;
        char buf[65536];
        ssize_t r = read(pairs[i][side], buf, sizeof buf);
        if (r > 0 && write_all(pairs[i][1 - side], buf, r) == 0) continue;
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
          ended[i][side] = 1;
          shutdown(pairs[i][1 - side], SHUT_WR);
          if (!ended[i][1 - side]) continue;
        }
        close(pairs[i][0]);
        close(pairs[i][1]);
        pairs[i][0] = pairs[npairs - 1][0];
        pairs[i][1] = pairs[npairs - 1][1];
        ended[i][0] = ended[npairs - 1][0];
        ended[i][1] = ended[npairs - 1][1];
        npairs--;
        break;
      }
    }
  }
}
