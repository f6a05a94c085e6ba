/* The Lua 5.4 interpreter and a Lua application in one binary. The application's scripts are
 * embedded by `polybin embed --name app lua/`: main.lua runs as the program, and `require`
 * finds modules in the bundle through a package searcher, so no .lua file is read from disk. */
#include <stdio.h>
#include <stdlib.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "app.h"

/* Loads an embedded script as a chunk named "@app:NAME", so errors and tracebacks name it. */
static int load_embedded(lua_State *L, const polybin_file *file) {
    const char *bytes = (const char *)file->data;
    char *copy = NULL;
    int status;
    lua_pushfstring(L, "@app:%s", file->name);
    /* A file stored compressed (polybin embed --compress) has no bytes in place: read it. */
    if (!bytes) {
        copy = malloc(file->size ? file->size : 1);
        if (!copy || app_read(file, copy, file->size) != (long long)file->size) {
            free(copy);
            lua_pop(L, 1);
            lua_pushfstring(L, "cannot read embedded file %s", file->name);
            return LUA_ERRFILE;
        }
        bytes = copy;
    }
    status = luaL_loadbufferx(L, bytes, file->size, lua_tostring(L, -1), "t");
    free(copy);
    lua_remove(L, -2);
    return status;
}

/* package.searchers entry: module "a.b" is the embedded file a/b.lua or a/b/init.lua. */
static int search_embedded(lua_State *L) {
    const char *module = luaL_checkstring(L, 1);
    const char *patterns[] = {"%s.lua", "%s/init.lua"};
    luaL_gsub(L, module, ".", "/");
    for (int i = 0; i < 2; i++) {
        const char *name = lua_pushfstring(L, patterns[i], lua_tostring(L, 2));
        const polybin_file *file = app_find(name);
        if (file) {
            if (load_embedded(L, file) != LUA_OK) {
                return luaL_error(L, "error loading module '%s' from embedded file %s:\n\t%s",
                                  module, name, lua_tostring(L, -1));
            }
            lua_pushstring(L, name); /* the loader's second argument, as for files on disk */
            return 2;
        }
        lua_pop(L, 1);
    }
    /* A directory without init.lua is a likely mistake: say so instead of only "no file". */
    if (app_kind(lua_tostring(L, 2)) == POLYBIN_DIRECTORY) {
        lua_pushfstring(L, "embedded directory '%s' has no init.lua", lua_tostring(L, 2));
    } else {
        lua_pushfstring(L, "no embedded file '%s.lua' or '%s/init.lua'", lua_tostring(L, 2), lua_tostring(L, 2));
    }
    return 1;
}

/* Embedded modules come right after package.preload, before anything on disk. */
static void install_searcher(lua_State *L) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    for (lua_Integer i = (lua_Integer)luaL_len(L, -1); i >= 2; i--) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushcfunction(L, search_embedded);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 2);
}

static int traceback(lua_State *L) {
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int main(int argc, char **argv) {
    lua_State *L = luaL_newstate();
    const polybin_file *main_script = app_find("main.lua");
    int handler, status;
    if (!L) {
        fprintf(stderr, "%s: cannot create a Lua state (out of memory)\n", argv[0]);
        return 1;
    }
    luaL_openlibs(L);
    install_searcher(L);

    /* The global `arg`, as the lua command sets it: arg[0] is the program. */
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");

    if (!main_script) {
        fprintf(stderr, "%s: main.lua is not embedded\n", argv[0]);
        lua_close(L);
        return 1;
    }
    lua_pushcfunction(L, traceback);
    handler = lua_gettop(L);
    status = load_embedded(L, main_script);
    if (status == LUA_OK) {
        for (int i = 1; i < argc; i++) lua_pushstring(L, argv[i]);
        status = lua_pcall(L, argc - 1, 0, handler);
    }
    if (status != LUA_OK) fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
