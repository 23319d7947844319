CREATE TABLE `host_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`host_id` integer NOT NULL,
	`at` integer NOT NULL,
	`text` text NOT NULL,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `host_logs_host` ON `host_logs` (`host_id`,`id`);--> statement-breakpoint
ALTER TABLE `hosts` ADD `deadline_at` integer;--> statement-breakpoint
ALTER TABLE `hosts` ADD `attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `hosts` ADD `error_state` text;--> statement-breakpoint
ALTER TABLE `hosts` ADD `requested_action` text;--> statement-breakpoint
ALTER TABLE `hosts` ADD `run_report` text;--> statement-breakpoint
ALTER TABLE `hosts` ADD `run_progress` text;--> statement-breakpoint
ALTER TABLE `hosts` ADD `run_started_at` integer;--> statement-breakpoint
ALTER TABLE `hosts` ADD `inspected_at` integer;--> statement-breakpoint
ALTER TABLE `hosts` ADD `provisioned_at` integer;--> statement-breakpoint
ALTER TABLE `hosts` ADD `booted_at` integer;--> statement-breakpoint
ALTER TABLE `hosts` ADD `pending_wipe` text;--> statement-breakpoint
ALTER TABLE `machines` ADD `deprovision` text;--> statement-breakpoint
ALTER TABLE `machines` ADD `rejected_host_ids` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `machines` ADD `deletion_requested_at` integer;