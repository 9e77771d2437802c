// SPDX-License-Identifier: Apache-2.0
// W2TTFS: counts spikes per channel and ws x ws window, then walks the window's time slots.

`default_nettype none

module w2ttfs #(
  parameter int Channels  = 128,  // channels per spike word, 1 .. 512
  parameter int MaxHwLog2 = 2,    // log2 of the largest (square) map side, 0 .. 5
  parameter int MaxWin    = 1,    // windows per channel it can hold, a power of two, >= 1
  localparam int MaxWsLog2 = (MaxHwLog2 < 3) ? MaxHwLog2 : 3,
  localparam int PosW  = (MaxHwLog2 > 0) ? 2 * MaxHwLog2 : 1,
  localparam int WinW  = (MaxWin > 1) ? $clog2(MaxWin) : 1,
  localparam int CntW  = 2 * MaxWsLog2 + 1  // counts 0 .. ws*ws
) (
  input  wire logic                clk_i,
  input  wire logic                rst_i,        // synchronous, active high; clears all counts
  // Configuration, held stable while a map is in flight
  input  wire logic [2:0]          cfg_hw_log2_i,  // map side = 1 << cfg_hw_log2_i
  input  wire logic [1:0]          cfg_ws_log2_i,  // window side = 1 << cfg_ws_log2_i
  // Spike words of the last feature map, one per position (any order); bit c is channel c
  input  wire logic                word_valid_i,
  output logic                     word_ready_o,
  input  wire logic [Channels-1:0] word_i,
  input  wire logic [PosW-1:0]     word_pos_i,   // y * side + x
  // Time-slot schedule: for slot t and window w, bit c is set when input (c, w) has spiked by t,
  // i.e. its count n satisfies ws*ws - n <= t; windows inner, slots outer
  output logic                     sw_valid_o,
  input  wire logic                sw_ready_i,
  output logic      [Channels-1:0] sw_word_o,
  output logic      [WinW-1:0]     sw_win_o,     // window, row-major over the window grid
  output logic                     sw_last_o,    // final slot word of the map
  // No map in flight: no word of a map taken yet and no slot word left to send
  output logic                     idle_o
);

  // Counting phase: one word per cycle, every channel counter of the word's window adds its bit.
  // Emission phase: ws*ws slots times the number of windows, one slot word per accepted beat;
  // the threshold thr = ws*ws - t counts down so that an input is active when n >= thr.
  logic [CntW-1:0]  cnt_q [Channels*MaxWin];  // index c * MaxWin + window
  logic             emit_q;                   // 0: counting, 1: emitting
  logic [PosW:0]    seen_q;                   // words taken in this map
  logic [WinW-1:0]  win_q;
  logic [CntW-1:0]  thr_q;

  localparam logic [CntW-1:0] CntOne = 1;
  localparam logic [2:0]      MaxHw3 = 3'($unsigned(MaxHwLog2));
  localparam logic [2:0]      MaxWs3 = 3'($unsigned(MaxWsLog2));

  logic [3:0]      win_side_log2;   // log2 of windows per grid row
  logic [PosW:0]   last_pos;        // positions - 1
  logic [WinW-1:0] last_win;        // windows - 1
  logic [CntW-1:0] slots;           // ws*ws
  logic [PosW-1:0] px, py;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [PosW-1:0] win_full;        // only the low WinW bits can be set in a legal configuration
  /* verilator lint_on UNUSEDSIGNAL */
  logic [WinW-1:0] word_win;
  logic            take, emit, map_done, emit_done;

  assign win_side_log2 = {1'b0, cfg_hw_log2_i} - {2'b00, cfg_ws_log2_i};
  assign last_pos      = ~({(PosW + 1){1'b1}} << {cfg_hw_log2_i, 1'b0});
  assign last_win      = ~({WinW{1'b1}} << {win_side_log2[2:0], 1'b0});
  assign slots         = CntOne << {cfg_ws_log2_i, 1'b0};

  // Window of the incoming word: (y >> wsl) << (hwl - wsl) | (x >> wsl).
  assign px = word_pos_i & ~({PosW{1'b1}} << cfg_hw_log2_i);
  assign py = word_pos_i >> cfg_hw_log2_i;
  assign win_full = ((py >> cfg_ws_log2_i) << win_side_log2) | (px >> cfg_ws_log2_i);
  assign word_win = win_full[WinW-1:0];

  assign word_ready_o = ~emit_q;
  assign take         = word_valid_i & word_ready_o;
  assign map_done     = take & (seen_q == last_pos);
  assign sw_valid_o   = emit_q;
  assign emit         = sw_valid_o & sw_ready_i;
  assign sw_last_o    = (thr_q == CntOne) & (win_q == last_win);
  assign emit_done    = emit & sw_last_o;

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      emit_q <= 1'b0;
      seen_q <= '0;
      win_q  <= '0;
      thr_q  <= '0;
    end else if (!emit_q) begin
      if (take) begin
        seen_q <= map_done ? '0 : seen_q + 1'b1;
      end
      if (map_done) begin
        emit_q <= 1'b1;
        win_q  <= '0;
          thr_q  <= slots;
      end
    end else if (emit) begin
      if (win_q == last_win) begin
        win_q  <= '0;
        thr_q  <= thr_q - 1'b1;
      end else begin
        win_q <= win_q + 1'b1;
      end
      if (emit_done) begin
        emit_q <= 1'b0;
      end
    end
  end

  // The counters restart after the last slot word, so the next map finds them at zero. The
  // loops sit inside their conditions: a simulator then skips them on idle cycles.
  always_ff @(posedge clk_i) begin
    if (rst_i || emit_done) begin
      for (int i = 0; i < Channels * MaxWin; i++) cnt_q[i] <= '0;
    end else if (take) begin
      for (int c = 0; c < Channels; c++) begin
        for (int w = 0; w < MaxWin; w++) begin
          if (word_i[c] && word_win == WinW'($unsigned(w))) begin
            cnt_q[c*MaxWin+w] <= cnt_q[c*MaxWin+w] + 1'b1;
          end
        end
      end
    end
  end

  always_comb begin
    sw_word_o = '0;
    for (int c = 0; c < Channels; c++) begin
      for (int w = 0; w < MaxWin; w++) begin
        if (win_q == WinW'($unsigned(w))) sw_word_o[c] = (cnt_q[c*MaxWin+w] >= thr_q);
      end
    end
  end

  assign sw_win_o  = win_q;
  assign idle_o    = ~emit_q & (seen_q == '0);

`ifndef SYNTHESIS
  initial begin
    if (Channels < 1 || Channels > 512) begin
      $fatal(1, "w2ttfs: Channels must be 1..512, got %0d", Channels);
    end
    if (MaxHwLog2 < 0 || MaxHwLog2 > 5) begin
      $fatal(1, "w2ttfs: MaxHwLog2 must be 0..5, got %0d", MaxHwLog2);
    end
    if (MaxWin < 1 || (MaxWin & (MaxWin - 1)) != 0 || MaxWin > (1 << (2 * MaxHwLog2))) begin
      $fatal(1, "w2ttfs: MaxWin must be a power of two up to the positions, got %0d", MaxWin);
    end
  end

  // The configuration of a map is the one seen when its first word was taken.
  logic [2:0] hw_log2_map;
  logic [1:0] ws_log2_map;
  always @(posedge clk_i) begin
    if (idle_o) begin
      hw_log2_map <= cfg_hw_log2_i;
      ws_log2_map <= cfg_ws_log2_i;
    end else if (!rst_i) begin
      assert (cfg_hw_log2_i == hw_log2_map && cfg_ws_log2_i == ws_log2_map)
        else $fatal(1, "w2ttfs: configuration changed while a map is in flight");
    end
  end

  always @(posedge clk_i) begin
    if (!rst_i) begin
      if (word_valid_i || emit_q) begin
        assert (cfg_hw_log2_i <= MaxHw3)
          else $fatal(1, "w2ttfs: map side 2**%0d above 2**%0d", cfg_hw_log2_i, MaxHwLog2);
        assert ({1'b0, cfg_ws_log2_i} <= cfg_hw_log2_i && {1'b0, cfg_ws_log2_i} <= MaxWs3)
          else $fatal(1, "w2ttfs: window side 2**%0d illegal for map side 2**%0d",
                      cfg_ws_log2_i, cfg_hw_log2_i);
        assert ((1 << (2 * win_side_log2)) <= MaxWin)
          else $fatal(1, "w2ttfs: %0d windows per channel, at most %0d held",
                      1 << (2 * win_side_log2), MaxWin);
      end
      if (take) begin
        assert ({1'b0, word_pos_i} <= last_pos)
          else $fatal(1, "w2ttfs: position %0d outside the %0d-position map", word_pos_i,
                      last_pos + 1'b1);
        for (int c = 0; c < Channels; c++) begin
          for (int w = 0; w < MaxWin; w++) begin
            if (word_i[c] && word_win == WinW'($unsigned(w))) begin
              assert (cnt_q[c*MaxWin+w] < slots)
                else $fatal(1, "w2ttfs: channel %0d window %0d counts past ws*ws", c, w);
            end
          end
        end
      end
    end
  end
`endif

endmodule : w2ttfs

`default_nettype wire
