CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`secret_hash` blob NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE TABLE `bmc_credentials` (
	`host_id` integer PRIMARY KEY NOT NULL,
	`key_id` text NOT NULL,
	`sealed_password` blob NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`message` text NOT NULL,
	`data` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_subject` ON `events` (`kind`,`namespace`,`name`);--> statement-breakpoint
CREATE TABLE `host_macs` (
	`mac` text PRIMARY KEY NOT NULL,
	`host_id` integer NOT NULL,
	`position` integer NOT NULL,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `host_macs_host` ON `host_macs` (`host_id`);--> statement-breakpoint
CREATE TABLE `hosts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`labels` text DEFAULT '{}' NOT NULL,
	`bmc_address` text,
	`bmc_username` text,
	`system_id` text,
	`insecure_skip_verify` integer DEFAULT false NOT NULL,
	`ca_bundle` text,
	`power_control` text NOT NULL,
	`state` text NOT NULL,
	`power_state` text DEFAULT 'Unknown' NOT NULL,
	`inspection_phase` text,
	`system_info` text,
	`inspection_report` text,
	`last_error` text,
	`retry_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`resource_version` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `hosts_identity` ON `hosts` (`namespace`,`name`);--> statement-breakpoint
CREATE INDEX `hosts_state` ON `hosts` (`state`);--> statement-breakpoint
CREATE TABLE `machine_bootstrap` (
	`machine_id` integer PRIMARY KEY NOT NULL,
	`key_id` text NOT NULL,
	`sealed_data` blob NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`machine_id`) REFERENCES `machines`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `machines` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`labels` text DEFAULT '{}' NOT NULL,
	`hardware_requirements` text NOT NULL,
	`host_selector` text NOT NULL,
	`image` text NOT NULL,
	`configuration_url` text,
	`host_id` integer,
	`phase` text NOT NULL,
	`provider_id` text,
	`addresses` text DEFAULT '[]' NOT NULL,
	`failure_reason` text,
	`failure_message` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`resource_version` integer DEFAULT 1 NOT NULL,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `machines_identity` ON `machines` (`namespace`,`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `machines_host` ON `machines` (`host_id`);