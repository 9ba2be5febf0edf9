/*
 * plasmite.h — C ABI of plasmite pools (libplasmite).
 *
 * Source- and link-compatible with the plasmite 0.8.0 header: same names, C types, struct
 * layouts, return conventions and error kinds. Additions are marked EXTENSION.
 *
 * Conventions
 * -----------
 * - Fallible functions return 0 on success and -1 on failure. Stream `next` functions return
 *   1 (an item was written), 0 (end of stream) or -1 (failure).
 * - `out_err` is always the last parameter. On failure, when `out_err` is non-NULL, `*out_err`
 *   receives a new `plsm_error_t*` (any previous value is overwritten, not freed); release it
 *   with plsm_error_free. On success `*out_err` is left untouched: initialise it to NULL.
 *   With `out_err == NULL` a failure is reported by the return value alone.
 * - Other out-parameters are written only on success. Every NULL pointer argument (handle,
 *   string, byte pointer, out-pointer) is a PLSM_ERROR_USAGE error, checked before anything
 *   happens: a call refused for a NULL out-pointer has no side effect. (0.8.0 created the pool,
 *   committed the append or consumed the stream message before noticing a NULL out-pointer.)
 * - Strings in are NUL-terminated UTF-8 (invalid UTF-8 is a Usage error). Bytes in are
 *   pointer + length; a length whose size exceeds PTRDIFF_MAX is a Usage error.
 * - Everything returned (handles, plsm_buf_t contents, frame payloads, errors) belongs to the
 *   caller until passed to its *_free function — never to free(). Every *_free accepts NULL.
 * - Undefined behaviour (not detectable): using a handle after its *_free, freeing an error
 *   twice, foreign pointers, lengths larger than the memory behind the pointer, passing a
 *   plsm_stream_t* where a plsm_lite3_stream_t* is expected or vice versa.
 *
 * Threads
 * -------
 * - plsm_client_t and plsm_pool_t handles may be used by several threads at once (appends from
 *   many threads through one pool handle serialise on the pool's writer lock).
 * - A stream handle (plsm_stream_t, plsm_lite3_stream_t) must be used by one thread at a time;
 *   it may move between threads.
 * - Handles are independent once made: freeing a client does not invalidate its pools, freeing
 *   a pool does not invalidate its streams. Many handles on one pool file, in one or many
 *   processes, may be used concurrently.
 *
 * Pool references (plsm_pool_create / plsm_pool_open / plsm_pool_delete)
 * ---------------------------------------------------------------------
 * containing "://" ⇒ Usage (remote pools are not supported); else containing '/' ⇒ a file path
 * used as given (relative to the process's working directory); else a name: <pool_dir>/<name>
 * when it ends in ".plasmite", otherwise <pool_dir>/<name>.plasmite.
 *
 * Message envelopes (plsm_pool_append_json, plsm_pool_get_json, plsm_stream_next)
 * ------------------------------------------------------------------------------
 * Compact UTF-8 JSON, not NUL-terminated:
 *   {"seq":N,"time":"<RFC 3339 UTC>","meta":{"tags":[...]},"data":{...}}
 * Objects in `data` have their keys in byte order. A later get of the same seq returns the same
 * bytes as the append did.
 */
#ifndef PLASMITE_H
#define PLASMITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Opaque handles ---------------------------------------------------------------------- */

/** A pool directory. Made by plsm_client_new, freed by plsm_client_free. Thread-safe. */
typedef struct plsm_client plsm_client_t;
/** An open pool. Made by plsm_pool_create / plsm_pool_open, freed by plsm_pool_free.
 *  Thread-safe. */
typedef struct plsm_pool plsm_pool_t;
/** A stream of JSON envelopes. Made by plsm_stream_open*, freed by plsm_stream_free.
 *  One thread at a time. */
typedef struct plsm_stream plsm_stream_t;
/** A stream of raw Lite³ frames. Made by plsm_lite3_stream_open*, freed by
 *  plsm_lite3_stream_free. One thread at a time. */
typedef struct plsm_lite3_stream plsm_lite3_stream_t;

/* ---- Enums ------------------------------------------------------------------------------- */

/** Error kinds (the CLI's exit codes). */
typedef enum plsm_error_kind {
    PLSM_ERROR_INTERNAL = 1,
    PLSM_ERROR_USAGE = 2,
    PLSM_ERROR_NOT_FOUND = 3,
    PLSM_ERROR_ALREADY_EXISTS = 4,
    PLSM_ERROR_BUSY = 5,
    PLSM_ERROR_PERMISSION = 6,
    PLSM_ERROR_CORRUPT = 7,
    PLSM_ERROR_IO = 8,
    PLSM_ERROR_RETENTION_GAP = 9
} plsm_error_kind_t;

/** What a stream does when messages were evicted before it read them. */
typedef enum plsm_gap_policy {
    /** Skip the evicted messages and go on with the oldest retained one. */
    PLSM_GAP_CONTINUE = 0,
    /** Fail with PLSM_ERROR_RETENTION_GAP (`seq` = first missing); the stream then ends. */
    PLSM_GAP_ERROR = 1
} plsm_gap_policy_t;

/* Durability (a plain uint32_t argument): 0 = fast (visible to every process at once, written
 * back by the OS later), 1 = flush (msync the written pages before returning). Anything else is
 * a Usage error. */

/* ---- Structs ----------------------------------------------------------------------------- */

/** Stream options. Size 48, align 8. Zero-initialise, then set struct_size. */
typedef struct plsm_stream_options {
    uint32_t struct_size;  /**< sizeof(plsm_stream_options_t); smaller ⇒ Usage */
    uint32_t gap_policy;   /**< plsm_gap_policy_t value; else Usage */
    uint64_t since_seq;    /**< first sequence (inclusive), when has_since */
    uint64_t max_messages; /**< deliver at most this many, when has_max (0 ends at once) */
    uint64_t timeout_ms;   /**< deadline from open, when has_timeout */
    uint32_t has_since;    /**< non-zero: since_seq applies (else: oldest retained message) */
    uint32_t has_max;      /**< non-zero: max_messages applies */
    uint32_t has_timeout;  /**< non-zero: timeout_ms applies (else: wait for ever) */
    uint32_t reserved;     /**< must be 0, else Usage */
} plsm_stream_options_t;

/** A library-owned byte buffer. Release with plsm_buf_free (frees `data`, zeroes the struct;
 *  a zeroed or already-freed buffer is a no-op). Size 16. */
typedef struct plsm_buf {
    uint8_t *data;
    size_t len;
} plsm_buf_t;

/** A raw message. Release with plsm_lite3_frame_free (frees the payload, zeroes the frame).
 *  Size 40. */
typedef struct plsm_lite3_frame {
    uint64_t seq;          /**< sequence */
    uint64_t timestamp_ns; /**< append time, ns since the Unix epoch (writer's clock) */
    uint32_t flags;        /**< frame flags (0) */
    plsm_buf_t payload;    /**< the Lite³ payload bytes */
} plsm_lite3_frame_t;

/** An error. Release with plsm_error_free (also frees message and path). Size 48. */
typedef struct plsm_error {
    int32_t kind;       /**< plsm_error_kind_t value */
    char *message;      /**< NUL-terminated UTF-8; "" when there is no text */
    char *path;         /**< NUL-terminated path, or NULL */
    uint64_t seq;       /**< meaningful when has_seq (e.g. first missing seq of a gap) */
    uint64_t offset;    /**< ring offset, meaningful when has_offset */
    uint8_t has_seq;
    uint8_t has_offset;
} plsm_error_t;

/* ---- Clients ----------------------------------------------------------------------------- */

/** Makes a client for the pool directory `pool_dir` (NULL: $HOME/.plasmite/pools, or
 *  .plasmite/pools when HOME is unset). The directory is neither created nor checked here.
 *  On success *out_client is a new handle: free it with plsm_client_free. */
int plsm_client_new(const char *pool_dir, plsm_client_t **out_client, plsm_error_t **out_err);

/** Releases a client (NULL: no-op). Pools and streams opened through it stay valid. */
void plsm_client_free(plsm_client_t *client);

/* ---- Pools ------------------------------------------------------------------------------- */

/** Creates a pool file of `size_bytes` (0: 1 MiB; parent directories are made) and opens it.
 *  An existing file ⇒ PLSM_ERROR_ALREADY_EXISTS with path; too small ⇒ Usage.
 *  On success *out_pool is a new handle: free it with plsm_pool_free. Thread-safe. */
int plsm_pool_create(plsm_client_t *client, const char *pool_ref, uint64_t size_bytes,
                     plsm_pool_t **out_pool, plsm_error_t **out_err);

/** Opens an existing pool. Missing ⇒ PLSM_ERROR_NOT_FOUND with path; not a pool ⇒
 *  PLSM_ERROR_CORRUPT with path. On success *out_pool is a new handle (plsm_pool_free). */
int plsm_pool_open(plsm_client_t *client, const char *pool_ref, plsm_pool_t **out_pool,
                   plsm_error_t **out_err);

/** Closes a pool handle (NULL: no-op). Streams opened from it stay valid. */
void plsm_pool_free(plsm_pool_t *pool);

/** Appends the JSON object json_bytes[0..json_len) with `tags_len` tags (`tags` NULL: no tags),
 *  stamped with the current time. Bad UTF-8 / JSON, a NULL or non-UTF-8 tag, a bad durability,
 *  a non-object ⇒ Usage; too large for the pool ⇒ Usage. On success *out_message holds the
 *  committed envelope: free it with plsm_buf_free. Thread-safe on one pool handle. */
int plsm_pool_append_json(plsm_pool_t *pool, const uint8_t *json_bytes, size_t json_len,
                          const char **tags, size_t tags_len, uint32_t durability,
                          plsm_buf_t *out_message, plsm_error_t **out_err);

/** Appends a message-shaped Lite³ document verbatim (invalid ⇒ PLSM_ERROR_CORRUPT) and writes
 *  its sequence into *out_seq. Thread-safe on one pool handle. */
int plsm_pool_append_lite3(plsm_pool_t *pool, const uint8_t *payload, size_t payload_len,
                           uint32_t durability, uint64_t *out_seq, plsm_error_t **out_err);

/** Fetches message `seq` as an envelope into *out_message (free with plsm_buf_free). Absent or
 *  evicted ⇒ PLSM_ERROR_NOT_FOUND with seq. */
int plsm_pool_get_json(plsm_pool_t *pool, uint64_t seq, plsm_buf_t *out_message,
                       plsm_error_t **out_err);

/** Fetches message `seq` as a raw frame into *out_frame (free with plsm_lite3_frame_free).
 *  Absent or evicted ⇒ PLSM_ERROR_NOT_FOUND with seq. */
int plsm_pool_get_lite3(plsm_pool_t *pool, uint64_t seq, plsm_lite3_frame_t *out_frame,
                        plsm_error_t **out_err);

/* ---- Streams ----------------------------------------------------------------------------- */

/*
 * A stream starts at the oldest retained message, or at `since_seq` (inclusive; messages before
 * it are skipped, and a stream started at an evicted seq begins with a gap). It waits for new
 * messages on the pool's wake word (woken by writers in any process at once; no polling delay).
 * A gap is reported only when messages were evicted before the stream read them: under
 * PLSM_GAP_CONTINUE they are skipped, under PLSM_GAP_ERROR `next` returns -1 with
 * PLSM_ERROR_RETENTION_GAP (`seq` = first missing) and every later `next` returns 0.
 * With has_timeout the stream ends (`next` returns 0) once `timeout_ms` after open has passed
 * with nothing to deliver; messages already in the pool at open are still delivered in full
 * (0.8.0 ended even with messages waiting). With has_max it ends after max_messages.
 * A damaged payload makes `next` return -1 PLSM_ERROR_CORRUPT with seq and offset; the stream
 * goes on with the next message. A stream keeps the pool mapped: it stays valid after
 * plsm_pool_free and after the file is deleted.
 */

/** Opens a JSON stream (gap policy continue). Legacy form of plsm_stream_open_ex.
 *  Free the stream with plsm_stream_free. */
int plsm_stream_open(plsm_pool_t *pool, uint64_t since_seq, uint32_t has_since,
                     uint64_t max_messages, uint32_t has_max, uint64_t timeout_ms,
                     uint32_t has_timeout, plsm_stream_t **out_stream, plsm_error_t **out_err);

/** Opens a JSON stream with `options` (checked first: NULL, too small, reserved ≠ 0, bad gap
 *  policy ⇒ Usage). Free the stream with plsm_stream_free. */
int plsm_stream_open_ex(plsm_pool_t *pool, const plsm_stream_options_t *options,
                        plsm_stream_t **out_stream, plsm_error_t **out_err);

/** Waits for the next message and writes its envelope into *out_message (free it with
 *  plsm_buf_free). Returns 1, 0 at the end of the stream (never sets *out_err), or -1.
 *  One thread at a time per stream. */
int plsm_stream_next(plsm_stream_t *stream, plsm_buf_t *out_message, plsm_error_t **out_err);

/** EXTENSION: up to max_count messages in one call. Waits for the first as plsm_stream_next
 *  does, then takes the messages available now (without waiting) until max_count, or until
 *  the envelopes reach max_bytes; writes them into *out_lines (free it with plsm_buf_free),
 *  each envelope followed by '\n' (envelopes never contain one), and their number into
 *  *out_count. Returns 1 (*out_count >= 1), 0 at the end of the stream, or -1. An error met
 *  after the first message is returned by the next call (of either function). */
int plsm_stream_next_batch(plsm_stream_t *stream, size_t max_count, size_t max_bytes,
                           plsm_buf_t *out_lines, size_t *out_count, plsm_error_t **out_err);

/** Releases a JSON stream (NULL: no-op). */
void plsm_stream_free(plsm_stream_t *stream);

/** Opens a raw-frame stream (gap policy continue). Free with plsm_lite3_stream_free. */
int plsm_lite3_stream_open(plsm_pool_t *pool, uint64_t since_seq, uint32_t has_since,
                           uint64_t max_messages, uint32_t has_max, uint64_t timeout_ms,
                           uint32_t has_timeout, plsm_lite3_stream_t **out_stream,
                           plsm_error_t **out_err);

/** Opens a raw-frame stream with `options`. Free with plsm_lite3_stream_free. */
int plsm_lite3_stream_open_ex(plsm_pool_t *pool, const plsm_stream_options_t *options,
                              plsm_lite3_stream_t **out_stream, plsm_error_t **out_err);

/** As plsm_stream_next, but writes a raw frame into *out_frame (free with
 *  plsm_lite3_frame_free); payloads are not decoded. */
int plsm_lite3_stream_next(plsm_lite3_stream_t *stream, plsm_lite3_frame_t *out_frame,
                           plsm_error_t **out_err);

/** Releases a raw-frame stream (NULL: no-op). */
void plsm_lite3_stream_free(plsm_lite3_stream_t *stream);

/* ---- Frees ------------------------------------------------------------------------------- */

/** Frees buf->data and zeroes *buf (does not free `buf` itself). NULL, a zeroed buffer, or one
 *  already freed through this function: no-op. */
void plsm_buf_free(plsm_buf_t *buf);

/** Frees frame->payload and zeroes *frame. NULL or an already-freed frame: no-op. */
void plsm_lite3_frame_free(plsm_lite3_frame_t *frame);

/** Frees an error and its strings (NULL: no-op). Free each error once. */
void plsm_error_free(plsm_error_t *err);

/* ---- EXTENSIONS (not in plasmite 0.8.0) -------------------------------------------------- */

/** EXTENSION: start positions for plsm_stream_filter_t.start. */
#define PLSM_START_DEFAULT 0u /**< oldest retained message, or options->since_seq */
#define PLSM_START_LIVE 1u    /**< only messages appended after the stream opens */
#define PLSM_START_LAST 2u    /**< the last `last_n` matching messages, then live ones */

/** EXTENSION: what a stream selects beyond plsm_stream_options_t. Size 48, align 8.
 *  Zero-initialise, then set struct_size. The strings are copied at open. */
typedef struct plsm_stream_filter {
    uint32_t struct_size;           /**< sizeof(plsm_stream_filter_t); smaller ⇒ Usage */
    uint32_t start;                 /**< PLSM_START_*; LIVE/LAST with has_since ⇒ Usage */
    uint64_t last_n;                /**< with PLSM_START_LAST */
    const char *const *tags;        /**< every tag must be present (AND); NULL: none */
    size_t tags_len;
    const char *const *where_exprs; /**< jq predicates, all must pass (AND); NULL: none.
                                         A predicate that does not compile ⇒ Usage */
    size_t where_len;
} plsm_stream_filter_t;

/** EXTENSION: plsm_stream_open_ex with a filter (`filter` NULL: as plsm_stream_open_ex).
 *  max_messages counts delivered (matching) messages. Free with plsm_stream_free. */
int plsm_stream_open_ex2(plsm_pool_t *pool, const plsm_stream_options_t *options,
                         const plsm_stream_filter_t *filter, plsm_stream_t **out_stream,
                         plsm_error_t **out_err);

/** EXTENSION: plsm_lite3_stream_open_ex with a filter. Free with plsm_lite3_stream_free. */
int plsm_lite3_stream_open_ex2(plsm_pool_t *pool, const plsm_stream_options_t *options,
                               const plsm_stream_filter_t *filter,
                               plsm_lite3_stream_t **out_stream, plsm_error_t **out_err);

/** EXTENSION: the pool-info JSON object (name, path, file_size, index_*, ring_*, bounds,
 *  metrics — the shape of `pls pool info`) into *out_info; free with plsm_buf_free. */
int plsm_pool_info_json(plsm_pool_t *pool, plsm_buf_t *out_info, plsm_error_t **out_err);

/** EXTENSION: a JSON array of the pool-info objects of every *.plasmite file in the client's
 *  directory, sorted by name (a pool that cannot be read has name, path and error). A missing
 *  directory lists as []. Free *out_list with plsm_buf_free. */
int plsm_pool_list_json(plsm_client_t *client, plsm_buf_t *out_list, plsm_error_t **out_err);

/** EXTENSION: deletes the pool file `pool_ref` names (missing ⇒ PLSM_ERROR_NOT_FOUND). Open
 *  handles and streams keep reading what they mapped. */
int plsm_pool_delete(plsm_client_t *client, const char *pool_ref, plsm_error_t **out_err);

/** EXTENSION: appends every non-blank line of jsonl[0..jsonl_len) (one JSON object per line)
 *  with the same tags, under one acquisition of the writer lock. Every line is parsed before
 *  anything is written: a bad line ⇒ Usage naming the line, nothing appended. On success
 *  *out_first_seq is the first new sequence (0 when there were no lines) and *out_count the
 *  number appended. Thread-safe on one pool handle. */
int plsm_pool_append_batch_jsonl(plsm_pool_t *pool, const uint8_t *jsonl, size_t jsonl_len,
                                 const char **tags, size_t tags_len, uint32_t durability,
                                 uint64_t *out_first_seq, uint64_t *out_count,
                                 plsm_error_t **out_err);

/** EXTENSION: ends a stream from ANY thread, even while another thread waits in
 *  plsm_stream_next on it (the one exception to "one thread at a time"; not concurrently with
 *  plsm_stream_free). The pending `next` returns 0 within 50 ms, and so does every later one.
 *  NULL: no-op. The stream must still be freed. */
void plsm_stream_cancel(plsm_stream_t *stream);

/** EXTENSION: plsm_stream_cancel for a raw-frame stream. */
void plsm_lite3_stream_cancel(plsm_lite3_stream_t *stream);

/** EXTENSION: the error's hint — what to do next, in words — or NULL when it has none (or
 *  `err` is NULL). The string belongs to the error: valid until plsm_error_free(err). */
const char *plsm_error_hint(const plsm_error_t *err);

/** EXTENSION: the library version ("major.minor.patch"), a static string: do not free. */
const char *plsm_version(void);

#ifdef __cplusplus
}
#endif

#endif /* PLASMITE_H */
