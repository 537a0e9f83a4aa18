import { loadConfig, SETTINGS, type SettingName } from '../config/config.js';
import { runServer } from '../server.js';
import { overridesFrom, parseOptions, settingOptions } from './args.js';
import { explainStartFailure, requireResolvableHost, validateHost, type SettingValue } from './serve-checks.js';

const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** Returns the listen address setting and the name it was given under, or undefined when it is unset. */
function hostSetting(flagValue: string | undefined): SettingValue | undefined {
  if (flagValue !== undefined && flagValue !== '') return { value: flagValue, label: SETTINGS.host.flag };
  const fromEnvironment = process.env[SETTINGS.host.env];
  if (fromEnvironment !== undefined && fromEnvironment !== '') return { value: fromEnvironment, label: SETTINGS.host.env };
  return undefined;
}

/**
 * `kiwiform serve`: every setting can come from its KIWIFORM_* variable or from its flag, the flag winning.
 * The listen address is checked first, because the issuer is derived from it. A failure to start, such as a
 * port in use or an unreachable database, is rethrown as one line naming the setting to change.
 */
export async function serve(args: readonly string[]): Promise<void> {
  const values = parseOptions('serve', args, settingOptions(SETTING_NAMES));
  const overrides = overridesFrom(values, SETTING_NAMES);
  const host = hostSetting(overrides.host);
  const issuerGiven = (overrides.issuer ?? process.env[SETTINGS.issuer.env] ?? '') !== '';
  if (host !== undefined) validateHost(host, issuerGiven);

  const config = loadConfig(process.env, overrides);
  if (host !== undefined) await requireResolvableHost(host);
  try {
    await runServer(config);
  } catch (error) {
    throw explainStartFailure(error, config) ?? error;
  }
}
