/* Internal to specs/: typed JSON readers that carry the JSON path of the
 * value they read, so every error names it ("process.user.uid: expected
 * integer, got string").  Absent keys and JSON null read as "absent". */
#ifndef WARD_SPECS_JSON_READ_H
#define WARD_SPECS_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"
#include "specs/specs.h"

/* "path.key" (or "key" at the top level) and "path[i]"; malloc'd. */
char *ward_specs_path_key (const char *path, const char *key);
char *ward_specs_path_idx (const char *path, size_t i);

/* The value under key, or NULL when absent or null. */
json_object *ward_specs_get (json_object *obj, const char *key);

/* Type checks on a value already fetched; path names the value itself. */
int ward_specs_expect (json_object *v, json_type type, const char *path, ward_error_t **err);
int ward_specs_value_str (json_object *v, const char *path, char **out, ward_error_t **err);
int ward_specs_value_i64 (json_object *v, const char *path, int64_t min, int64_t max,
                          int64_t *out, ward_error_t **err);
int ward_specs_value_u64 (json_object *v, const char *path, uint64_t max, uint64_t *out,
                          ward_error_t **err);

/* Field readers: obj is the object at path, key the field.  has (may be
 * NULL) tells whether the key was present; required fields error with
 * "<path>.<key>: required" when absent. */
int ward_specs_read_str (json_object *obj, const char *path, const char *key, bool required,
                         char **out, ward_error_t **err);
int ward_specs_read_bool (json_object *obj, const char *path, const char *key, bool *out,
                          bool *has, ward_error_t **err);
int ward_specs_read_i64 (json_object *obj, const char *path, const char *key, int64_t *out,
                         bool *has, ward_error_t **err);
int ward_specs_read_i32 (json_object *obj, const char *path, const char *key, int32_t *out,
                         bool *has, ward_error_t **err);
int ward_specs_read_u64 (json_object *obj, const char *path, const char *key, uint64_t *out,
                         bool *has, ward_error_t **err);
int ward_specs_read_u32 (json_object *obj, const char *path, const char *key, uint32_t *out,
                         bool *has, ward_error_t **err);
int ward_specs_read_u16 (json_object *obj, const char *path, const char *key, uint16_t *out,
                         bool *has, ward_error_t **err);
/* Array of strings into a NULL-terminated vector. */
int ward_specs_read_strv (json_object *obj, const char *path, const char *key, char ***out,
                          size_t *len, bool *has, ward_error_t **err);
int ward_specs_read_u32v (json_object *obj, const char *path, const char *key, uint32_t **out,
                          size_t *len, ward_error_t **err);
/* Optional object / array: *out is NULL when absent. */
int ward_specs_read_object (json_object *obj, const char *path, const char *key,
                            json_object **out, ward_error_t **err);
int ward_specs_read_array (json_object *obj, const char *path, const char *key,
                           json_object **out, ward_error_t **err);
/* Object of string values ("annotations", "sysctl", "unified"). */
int ward_specs_read_kv (json_object *obj, const char *path, const char *key, ward_kv_t **out,
                        size_t *len, ward_error_t **err);

void ward_specs_strv_free (char **v);
void ward_specs_kv_free (ward_kv_t *kv, size_t len);

/* Name tables (names.c). */
int ward_specs_ns_type_parse (const char *name, ward_ns_type_t *type);
extern const char *const ward_specs_cap_names[];
extern const size_t ward_specs_cap_count;
int ward_specs_seccomp_action_parse (const char *name, uint32_t *value);
int ward_specs_seccomp_op_parse (const char *name, int *value);
bool ward_specs_seccomp_arch_known (const char *name);
bool ward_specs_seccomp_flag_known (const char *name);
int ward_specs_sched_policy_parse (const char *name, int *value);
int ward_specs_sched_flag_parse (const char *name, uint64_t *bit);
int ward_specs_ioprio_class_parse (const char *name, int *value);
extern const char *const ward_specs_seccomp_actions[];
extern const char *const ward_specs_seccomp_ops[];
extern const char *const ward_specs_seccomp_archs[];
extern const char *const ward_specs_seccomp_flags[];
extern const char *const ward_specs_mount_options[];

/* Section parsers shared between files; each fills a zeroed struct and
 * leaves partial results for the owner's free function on error. */
int ward_specs_parse_process (json_object *v, const char *path, ward_process_t *p,
                              ward_error_t **err);
void ward_specs_process_clear (ward_process_t *p);
int ward_specs_parse_linux (json_object *v, const char *path, ward_linux_t *l,
                            ward_error_t **err);
void ward_specs_linux_free (ward_linux_t *l);
int ward_specs_parse_resources (json_object *v, const char *path, ward_resources_t *r,
                                ward_error_t **err);
int ward_specs_parse_seccomp (json_object *v, const char *path, ward_seccomp_t *s,
                              ward_error_t **err);
void ward_specs_seccomp_free (ward_seccomp_t *s);
int ward_specs_parse_id_mappings (json_object *obj, const char *path, const char *key,
                                  ward_id_mapping_t **out, size_t *len, ward_error_t **err);
/* Struct -> json-c object builders (new references). */
json_object *ward_specs_resources_to_object (const ward_resources_t *r);
json_object *ward_specs_seccomp_to_object (const ward_seccomp_t *s);

/* Parses text into a JSON value with the size and depth limits. */
int ward_specs_tokenize (const char *data, size_t len, json_object **out, ward_error_t **err);

#endif
