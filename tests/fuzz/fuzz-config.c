/* libFuzzer target: config.json, `exec --process` and `update --resources`
 * parsers, the seccomp canonicaliser, the image-spec parsers and the
 * signal name parser.  Any
 * input must give a result or an error, never a crash or a leak. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "specs/specs.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  ward_error_t *err = NULL;
  ward_config_t *cfg = NULL;
  ward_process_t *proc = NULL;
  ward_resources_t *res = NULL;
  ward_oci_index_t *idx = NULL;
  ward_oci_manifest_t *man = NULL;
  ward_oci_image_config_t *icfg = NULL;
  char *text;
  int sig;

  if (ward_config_parse ((const char *) data, size, &cfg, &err) == 0)
    {
      /* Exercise the look-ups on whatever parsed. */
      for (int t = 0; t < WARD_NS__COUNT; t++)
        (void) ward_config_namespace (cfg, (ward_ns_type_t) t);
      (void) ward_config_annotation (cfg, "run.oci.handler");
      /* Whatever parsed must serialise to a config that parses again. */
      {
        char *json = ward_config_to_json (cfg);
        ward_config_t *again = NULL;
        if (json == NULL || ward_config_parse (json, strlen (json), &again, &err) < 0)
          abort ();
        ward_config_free (again);
        free (json);
      }
      ward_config_free (cfg);
    }
  ward_error_free (&err);

  if (ward_process_parse ((const char *) data, size, &proc, &err) == 0)
    ward_process_free (proc);
  ward_error_free (&err);

  if (ward_resources_parse ((const char *) data, size, &res, &err) == 0)
    {
      char *json = ward_resources_to_json (res);
      ward_resources_t *again = NULL;
      if (ward_resources_parse (json, strlen (json), &again, &err) < 0)
        abort ();
      ward_resources_free (again);
      free (json);
      ward_resources_free (res);
    }
  ward_error_free (&err);

  if (ward_oci_index_parse ((const char *) data, size, &idx, &err) == 0)
    {
      (void) ward_oci_index_select (idx, "linux", "amd64", NULL);
      ward_oci_index_free (idx);
    }
  ward_error_free (&err);
  if (ward_oci_manifest_parse ((const char *) data, size, &man, &err) == 0)
    ward_oci_manifest_free (man);
  ward_error_free (&err);
  if (ward_oci_image_config_parse ((const char *) data, size, &icfg, &err) == 0)
    ward_oci_image_config_free (icfg);
  ward_error_free (&err);

  if (size < 64)
    {
      text = malloc (size + 1);
      if (text == NULL)
        return 0;
      memcpy (text, data, size);
      text[size] = '\0';
      (void) ward_signal_parse (text, &sig);
      free (text);
    }
  return 0;
}
