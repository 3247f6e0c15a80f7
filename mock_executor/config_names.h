/* The words config_flags.c and config.c parse and config_print.c prints
 * for its enums, indexed by the enum values of config.h. Internal to the
 * three. */
#ifndef HC_CONFIG_NAMES_H
#define HC_CONFIG_NAMES_H

extern const char *const config_protocol_names[]; /* config_protocol */
extern const char *const config_engine_names[];   /* config_engine */
extern const char *const config_drain_names[];    /* config_drain_watch */
extern const char *const config_profile_names[];  /* config_profile */

#endif
