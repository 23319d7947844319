CREATE TABLE `boot_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`host_id` integer NOT NULL,
	`mode` text NOT NULL,
	`secret_hash` blob NOT NULL,
	`issued_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `boot_tokens_host` ON `boot_tokens` (`host_id`);--> statement-breakpoint
ALTER TABLE `hosts` ADD `netboot_mode` text;