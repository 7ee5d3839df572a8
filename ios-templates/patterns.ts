// Token shapes shared by inventory validation and the grammar checker, so the two can
// never disagree about what a node name or probe path may contain.

/** Node, switch and site names: they appear in switch commands and in file names. */
export const NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9._-]{0,49}';
/**
 * Node names are also the IP SLA `tag`, which holds at most 16 characters
 * (CISCO-RTTMON-MIB rttMonCtrlAdminTag is DisplayString (SIZE (0..16))).
 */
export const SLA_TAG_MAX = 16;
export const SLA_TAG_PATTERN = '[A-Za-z0-9][A-Za-z0-9._-]{0,15}';
/** A DNS hostname without trailing dot (IOS takes the name exactly as typed). */
export const HOST_PATTERN =
  '(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*';
/** URL path safe to paste into a Cisco CLI: no spaces, no "?" (which opens CLI help). */
export const PATH_PATTERN = '/[A-Za-z0-9._~/%-]*';
/** Route-map name. */
export const RMNAME_PATTERN = '[A-Za-z][A-Za-z0-9_-]{0,62}';
