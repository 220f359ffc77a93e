//! Settings from the editor (`initializationOptions`, `workspace/configuration` section
//! `asyncsense`, `didChangeConfiguration`). Project files win unless the user says otherwise.

use asyncsense_analysis::config::Config;
use asyncsense_analysis::rules::RuleSet;
use asyncsense_analysis::Rule;
use serde::Deserialize;

/// Whose rule selection applies when both the editor and a project file set one.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ConfigurationPreference {
    /// The project's `pyproject.toml`/`asyncsense.toml`, when there is one (the default).
    #[default]
    FilesystemFirst,
    /// The editor's settings on top of the project file.
    EditorFirst,
    /// Only the editor's settings; project files are ignored.
    EditorOnly,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct EditorSettings {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub configuration_preference: ConfigurationPreference,
}

impl EditorSettings {
    /// Reads settings leniently: an unusable value is reported and the defaults are kept.
    pub fn from_json(value: Option<serde_json::Value>) -> (EditorSettings, Vec<String>) {
        let Some(value) = value.filter(|value| !value.is_null()) else {
            return (EditorSettings::default(), Vec::new());
        };
        // Clients nest the section differently: `{asyncsense: {...}}` or `{...}`.
        let value = value.get("asyncsense").cloned().unwrap_or(value);
        match serde_json::from_value::<EditorSettings>(value) {
            Ok(settings) => {
                let problems =
                    settings.unknown_rules().into_iter().map(|code| format!("unknown rule `{code}`")).collect();
                (settings, problems)
            }
            Err(error) => (EditorSettings::default(), vec![format!("invalid settings: {error}")]),
        }
    }

    fn unknown_rules(&self) -> Vec<String> {
        self.select
            .iter()
            .flatten()
            .chain(&self.extend_select)
            .chain(&self.ignore)
            .filter(|code| Rule::selected_by(code).is_empty())
            .cloned()
            .collect()
    }

    fn apply(&self, base: RuleSet) -> RuleSet {
        let parse = |codes: &[String]| codes.iter().flat_map(|code| Rule::selected_by(code)).collect::<Vec<_>>();
        let mut rules = match &self.select {
            Some(selected) => parse(selected).into_iter().fold(RuleSet::EMPTY, RuleSet::with),
            None => base,
        };
        for rule in parse(&self.extend_select) {
            rules = rules.with(rule);
        }
        for rule in parse(&self.ignore) {
            rules = rules.without(rule);
        }
        rules
    }

    /// The rules for the project given its configuration file (if any).
    pub fn effective_rules(&self, project: &Config) -> RuleSet {
        let has_project_file = project.path.is_some();
        match self.configuration_preference {
            ConfigurationPreference::FilesystemFirst if has_project_file => project.rules(),
            ConfigurationPreference::FilesystemFirst | ConfigurationPreference::EditorOnly => {
                self.apply(RuleSet::default())
            }
            ConfigurationPreference::EditorFirst => self.apply(project.rules()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_file_wins_unless_the_user_says_otherwise() {
        let (editor, problems) = EditorSettings::from_json(Some(serde_json::json!({
            "asyncsense": { "ignore": ["APM101", "APM999"] }
        })));
        assert_eq!(problems, vec!["unknown rule `APM999`".to_owned()]);
        let no_file = Config::default();
        assert!(!editor.effective_rules(&no_file).contains(Rule::AsyncWithOnAsyncGenerator));
        let project = Config { path: Some("/p/pyproject.toml".into()), ..Config::default() };
        assert!(editor.effective_rules(&project).contains(Rule::AsyncWithOnAsyncGenerator));
        let editor_first = EditorSettings { configuration_preference: ConfigurationPreference::EditorFirst, ..editor };
        assert!(!editor_first.effective_rules(&project).contains(Rule::AsyncWithOnAsyncGenerator));
    }

    #[test]
    fn bad_settings_keep_the_defaults() {
        let (settings, problems) = EditorSettings::from_json(Some(serde_json::json!({ "select": 3 })));
        assert_eq!(settings, EditorSettings::default());
        assert_eq!(problems.len(), 1);
    }
}
