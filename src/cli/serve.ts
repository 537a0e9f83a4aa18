import { loadConfig, SETTINGS, type SettingName } from '../config/config.js';
import { runServer } from '../server.js';
import { overridesFrom, parseOptions, settingOptions } from './args.js';

const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** `kiwiform serve`: every setting can come from its KIWIFORM_* variable or from its flag, the flag winning. */
export async function serve(args: readonly string[]): Promise<void> {
  const values = parseOptions('serve', args, settingOptions(SETTING_NAMES));
  const config = loadConfig(process.env, overridesFrom(values, SETTING_NAMES));
  await runServer(config);
}
