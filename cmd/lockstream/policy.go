package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

// maxPolicyFile bounds the policy file read: a policy is a few keys and
// claims, far below this.
const maxPolicyFile = 1 << 20

func runPolicy(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("policy: missing action: want create, list or delete")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		printPolicyHelp(e)
		return nil
	case "create":
		return runPolicyCreate(ctx, e, args[1:])
	case "list":
		return runPolicyList(ctx, e, args[1:])
	case "delete":
		return runPolicyDelete(ctx, e, args[1:])
	}
	return usagef("policy: unknown action %q: want create, list or delete", args[0])
}

func printPolicyHelp(e *env) {
	fmt.Fprint(e.stdout, `Usage: lockstream policy <action> [flags]

Manages content key policies through the admin API of --server, with the
admin token from LOCKSTREAM_ADMIN_TOKEN.

Actions:
  create FILE  create or replace a policy from a JSON or YAML file
  list         print every policy, secrets redacted
  delete NAME  delete a policy that no streaming locator uses

Run 'lockstream policy <action> -h' for the flags of one action.
`)
}

func runPolicyCreate(ctx context.Context, e *env, args []string) error {
	var (
		sf   serverFlags
		name string
	)
	fs := newFlagSet(e, "policy create", "FILE [flags]",
		"Creates or replaces a content key policy from a JSON or YAML file (.yaml or\n"+
			".yml for YAML) and prints it with secrets redacted. The policy name comes\n"+
			"from --name, else from the file's name field.")
	sf.register(fs, e)
	fs.StringVar(&name, "name", "", "policy `name`; default: the file's name field")

	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("policy create: want exactly one FILE argument, got %d", len(rest))
	}
	file := rest[0]

	data, err := readPolicyFile(file)
	if err != nil {
		return err
	}
	// Parsing here reports a malformed file before anything is sent, and
	// gives the name when --name is absent; the server validates again.
	parsed, err := policy.ParseContentKeyPolicy(data)
	if err != nil {
		return fmt.Errorf("reading policy file %s: %w", file, err)
	}
	if name == "" {
		name = parsed.Name
	}
	if name == "" {
		return usagef("policy create: %s has no name field: pass --name", file)
	}

	client, _, err := sf.client(e, "policy create")
	if err != nil {
		return err
	}
	contentType := adminapi.ContentTypeJSON
	if ext := strings.ToLower(filepath.Ext(file)); ext == ".yaml" || ext == ".yml" {
		contentType = adminapi.ContentTypeYAML
	}
	created, err := client.PutContentKeyPolicy(ctx, name, data, contentType)
	if err != nil {
		return fmt.Errorf("creating content key policy %q: %w", name, err)
	}
	return printJSON(e, created)
}

func runPolicyList(ctx context.Context, e *env, args []string) error {
	var sf serverFlags
	fs := newFlagSet(e, "policy list", "[flags]", "Prints the content key policies, secrets redacted.")
	sf.register(fs, e)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("policy list: unexpected argument %q", rest[0])
	}
	client, _, err := sf.client(e, "policy list")
	if err != nil {
		return err
	}
	policies, err := client.ListContentKeyPolicies(ctx)
	if err != nil {
		return fmt.Errorf("listing content key policies: %w", err)
	}
	return printJSON(e, policies)
}

func runPolicyDelete(ctx context.Context, e *env, args []string) error {
	var sf serverFlags
	fs := newFlagSet(e, "policy delete", "NAME [flags]",
		"Deletes a content key policy; the server refuses while a locator uses it.")
	sf.register(fs, e)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("policy delete: want exactly one NAME argument, got %d", len(rest))
	}
	client, _, err := sf.client(e, "policy delete")
	if err != nil {
		return err
	}
	if err := client.DeleteContentKeyPolicy(ctx, rest[0]); err != nil {
		return fmt.Errorf("deleting content key policy %q: %w", rest[0], err)
	}
	fmt.Fprintf(e.stdout, "deleted content key policy %s\n", rest[0])
	return nil
}

func readPolicyFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy file %s: %w", file, err)
	}
	if len(data) > maxPolicyFile {
		return nil, fmt.Errorf("policy file %s is larger than %d bytes", file, maxPolicyFile)
	}
	return data, nil
}

func printJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
